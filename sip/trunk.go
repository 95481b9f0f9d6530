package sip

import (
	"context"
	"net"
	"strconv"
	"strings"
	"time"

	gosip "github.com/emiago/sipgo/sip"
)

// Trunk is what the proxy needs of the SIP trunk to the provider: where
// external calls go, the digest credentials it answers challenges with, and
// the host put in From.
type Trunk struct {
	Host      string
	Port      int
	Transport string // udp or tcp; empty is udp
	// Username and Password answer the provider's 401 or 407; empty means
	// the provider does not challenge (it trusts our address).
	Username, Password string
	// FromDomain is the host of From on calls to the provider; empty means
	// our own domain.
	FromDomain string
	// Register keeps this engine registered at the provider with the
	// credentials, so that it sends calls for the account here.
	Register bool
}

// CallerID is the identity an external call presents to the provider.
type CallerID struct {
	Number, Name string
}

// TrunkSource is what the proxy needs of the trunk: where plan targets of
// kind routing.TargetExternal go out (without a trunk they are answered
// 503), and which sources are the provider, whose calls come in without
// digest authentication. It is set with WithTrunk.
type TrunkSource interface {
	// FromTrunk reports whether a request from ip is the provider's:
	// trusted by its source address, never challenged.
	FromTrunk(ctx context.Context, ip string) (bool, error)
	// Trunk returns the trunk; false when none is configured.
	Trunk(ctx context.Context) (Trunk, bool, error)
	// OutboundCallerID returns the caller ID a call from caller to the
	// external number to goes out with.
	OutboundCallerID(ctx context.Context, caller Caller, to string) (CallerID, error)
}

// destination is the address and transport the trunk is reached at.
func (t Trunk) destination() (network, dest string) {
	network = strings.ToUpper(t.Transport)
	if network == "" {
		network = "UDP"
	}
	port := t.Port
	if port == 0 {
		port = 5060
	}
	return network, net.JoinHostPort(strings.Trim(t.Host, "[]"), strconv.Itoa(port))
}

// requestURI is the Request-URI of a call to number through the trunk:
// the number as given (+E.164) at the provider's host and port.
func (t Trunk) requestURI(number string) gosip.Uri {
	return gosip.Uri{Scheme: "sip", User: number, Host: t.Host, Port: t.Port, UriParams: gosip.NewParams(), Headers: gosip.NewParams()}
}

// startTrunk sends an external target out through the trunk, or records at
// once why it cannot go.
func (c *call) startTrunk(number string) {
	ts := c.s.trunk
	if ts == nil {
		c.results = append(c.results, finalResult{code: 503})
		return
	}
	ctx, cancel := context.WithTimeout(c.s.ctx, 5*time.Second)
	defer cancel()
	trunk, found, err := ts.Trunk(ctx)
	switch {
	case err != nil:
		c.log.Error("read trunk", "error", err)
		c.results = append(c.results, finalResult{code: 500})
		return
	case !found || trunk.Host == "":
		c.results = append(c.results, finalResult{code: 503})
		return
	}
	cid, err := ts.OutboundCallerID(ctx, c.caller, number)
	if err != nil {
		c.log.Error("outbound caller ID", "to", number, "error", err)
		c.results = append(c.results, finalResult{code: 500})
		return
	}
	if err := c.startTrunkBranch(trunk, number, cid); err != nil {
		c.log.Debug("start trunk branch", "to", number, "error", err)
		c.results = append(c.results, finalResult{code: 503})
	}
}

// startTrunkBranch forwards the INVITE to the provider (RFC 3261 §16.6)
// with the Request-URI, To and caller ID of an outbound call.
func (c *call) startTrunkBranch(trunk Trunk, number string, cid CallerID) error {
	s := c.s
	network, dest := trunk.destination()
	fwd := c.prepareForward(trunk.requestURI(number))
	// From and To name the call as the provider bills and shows it; the
	// tags, which the dialog is identified by, stay the caller's.
	domain := trunk.FromDomain
	if domain == "" {
		domain = s.cfg.Realm
	}
	fromURI := gosip.Uri{Scheme: "sip", User: cid.Number, Host: domain, UriParams: gosip.NewParams(), Headers: gosip.NewParams()}
	from := &gosip.FromHeader{DisplayName: quotedStringSafe(cid.Name), Address: fromURI, Params: gosip.NewParams()}
	if f := c.req.From(); f != nil {
		if tag, ok := f.Params.Get("tag"); ok {
			from.Params.Add("tag", tag)
		}
	}
	fwd.ReplaceHeader(from)
	fwd.ReplaceHeader(&gosip.ToHeader{Address: *fwd.Recipient.Clone(), Params: gosip.NewParams()})
	// The identity is ours to assert (RFC 3325 §9.1), not the phone's.
	for fwd.RemoveHeader("P-Asserted-Identity") {
	}
	for fwd.RemoveHeader("P-Preferred-Identity") {
	}
	pai := "<" + fromURI.String() + ">"
	if from.DisplayName != "" {
		pai = `"` + from.DisplayName + `" ` + pai
	}
	fwd.AppendHeader(gosip.NewHeader("P-Asserted-Identity", pai))
	return c.sendBranch(fwd, network, dest, &trunk, nil)
}

// quotedStringSafe drops what cannot go inside a quoted display name.
func quotedStringSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '"' || r == '\\' || r < ' ' {
			return -1
		}
		return r
	}, s)
}

// authenticate answers the provider's 401 or 407 to a trunk branch once
// with the trunk's credentials (RFC 3261 §22.2): the INVITE again, on a new
// transaction, with Authorization or Proxy-Authorization. The CSeq stays
// the caller's: this proxy keeps no dialog state, so the caller's ACK and
// later requests must find the dialog's CSeq unchanged; the new branch makes
// it a new transaction (RFC 3261 §17.2.3).
func (b *branch) authenticate(res *gosip.Response) error {
	b.authTried = true
	req := b.fwd.Clone()
	credsName, creds, err := digestCredentials(res, req.Method.String(), req.Recipient.String(), b.trunk.Username, b.trunk.Password)
	if err != nil {
		return err
	}
	for req.RemoveHeader(credsName) {
	}
	req.AppendHeader(gosip.NewHeader(credsName, creds))
	if cs := req.CSeq(); cs != nil && b.leg != nil {
		// A bridged call's INVITE is ours: as its caller we number the
		// retry (RFC 3261 §22.2); a proxied one keeps the caller's CSeq.
		req.ReplaceHeader(&gosip.CSeqHeader{SeqNo: cs.SeqNo + 1, MethodName: cs.MethodName})
	}
	req.RemoveHeader("Via")
	s := b.c.s
	req.PrependHeader(s.proxyVia(b.network, b.c.base))
	req.SetTransport(b.fwd.Transport())
	req.SetDestination(b.dest)
	req.SetSource("")
	req.Laddr = b.fwd.Laddr

	ctx, cancel := context.WithTimeout(s.ctx, connectTimeout)
	tx, err := s.proxy.client.TransactionRequest(ctx, req, noBuild)
	cancel()
	if err != nil {
		return err
	}
	tx.OnRetransmission(b.onRetransmission)
	b.fwd, b.tx, b.provisional = req, tx, false
	return nil
}
