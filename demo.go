package switchboard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"switchboard/store"
)

// demoUsers are created by Config.Demo on an empty database.
var demoUsers = []struct{ ext, first, last, phone string }{
	{"1001", "Ada", "Lovelace", "1001a"},
	{"1002", "Alan", "Turing", "1002a"},
}

// prepareDemo creates the demo users and phones when the database has no
// users. Either way it prints the demo phones' credentials, so that `make
// run` always tells how to register a softphone.
func (e *Engine) prepareDemo(ctx context.Context) error {
	n, err := e.db.Users().Count(ctx)
	if err != nil {
		return fmt.Errorf("count users: %w", err)
	}
	if n == 0 {
		for _, d := range demoUsers {
			u := store.NewUser{User: store.User{
				Extension: d.ext, FirstName: d.first, LastName: d.last,
				CallerIDName: d.first + " " + d.last, VoicemailEnabled: true,
				AnnounceInDirectory: true, ListInDirectory: true,
			}}
			if _, err := e.db.Users().Create(ctx, u); err != nil {
				return fmt.Errorf("create demo user %s: %w", d.ext, err)
			}
			if _, err := e.db.Phones().Create(ctx, d.ext, store.Phone{Name: d.phone}); err != nil {
				return fmt.Errorf("create demo phone %s: %w", d.phone, err)
			}
		}
		e.log.Info("demo users created", "users", len(demoUsers))
	}
	server := demoServer(e.cfg.Domain, e.cfg.SIPAddr)
	var b, accounts strings.Builder
	fmt.Fprintf(&b, "\nDemo phones (register a softphone with one of these):\n")
	for _, d := range demoUsers {
		p, err := e.db.Phones().FindByName(ctx, d.phone)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("find demo phone %s: %w", d.phone, err)
		}
		fmt.Fprintf(&b, "  extension %s (%s %s): username %s  password %s\n", d.ext, d.first, d.last, p.Name, p.SIPPassword)
		fmt.Fprintf(&accounts, "    <sip:%s@%s>;auth_pass=%s;outbound=\"sip:%s\"\n", p.Name, e.cfg.Domain, p.SIPPassword, server)
	}
	fmt.Fprintf(&b, "  registrar / SIP server: %s  domain (realm): %s  transport: UDP or TCP\n", server, e.cfg.Domain)
	fmt.Fprintf(&b, "  baresip ~/.baresip/accounts lines:\n%s\n", accounts.String())
	fmt.Fprint(e.cfg.Out, b.String())
	return nil
}

// demoServer is where a softphone reaches the SIP listener at addr: its
// address when it listens on one address only (a phone could not reach
// the domain's there), else the domain; the port unless it is 5060.
func demoServer(domain, addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return domain
	}
	server := domain
	if ip, err := netip.ParseAddr(host); err == nil && !ip.IsUnspecified() {
		server = ip.String()
	}
	if port != "5060" {
		return net.JoinHostPort(server, port)
	}
	if strings.Contains(server, ":") {
		return "[" + server + "]"
	}
	return server
}
