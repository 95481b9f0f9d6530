package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
)

// Trunk is the SIP trunk to the provider: where external calls go, the
// optional digest credentials and registration, and the addresses calls
// from the provider may come from (they are trusted by source address).
// An empty Host means no trunk.
type Trunk struct {
	Host      string
	Port      int
	Transport string // udp or tcp
	Username  string
	Password  string // kept in clear: the trunk's digest needs it
	Register  bool
	// FromDomain is the host put in From of calls to the provider; empty
	// means Host.
	FromDomain string
	// InboundSources are the IP addresses or CIDR prefixes of the
	// provider's signalling.
	InboundSources []string
}

// Trunks is the repository of the (single) trunk.
type Trunks struct{ db *DB }

const maxInboundSources = 50

// Get returns the trunk; a fresh install has an empty one (no Host).
func (r *Trunks) Get(ctx context.Context) (Trunk, error) {
	var t Trunk
	err := r.db.view(ctx, func(tx *sql.Tx) error {
		var err error
		t, err = readTrunk(ctx, tx)
		return err
	})
	if err != nil {
		return Trunk{}, fmt.Errorf("trunk: %w", err)
	}
	return t, nil
}

func readTrunk(ctx context.Context, tx *sql.Tx) (Trunk, error) {
	t := Trunk{Port: 5060, Transport: "udp", InboundSources: []string{}}
	var sources string
	err := tx.QueryRowContext(ctx, `SELECT host, port, transport, username, password, register,
		from_domain, inbound_sources FROM trunk WHERE id = 1`).Scan(
		&t.Host, &t.Port, &t.Transport, &t.Username, &t.Password, &t.Register, &t.FromDomain, &sources)
	if errors.Is(err, sql.ErrNoRows) {
		return t, nil
	}
	if err != nil {
		return Trunk{}, err
	}
	if err := json.Unmarshal([]byte(sources), &t.InboundSources); err != nil {
		return Trunk{}, fmt.Errorf("decode inbound sources: %w", err)
	}
	return t, nil
}

// Put replaces the trunk.
func (r *Trunks) Put(ctx context.Context, t Trunk) (Trunk, error) {
	if t.Port == 0 {
		t.Port = 5060
	}
	if t.Transport == "" {
		t.Transport = "udp"
	}
	if t.InboundSources == nil {
		t.InboundSources = []string{}
	}
	if err := validateTrunk(&t); err != nil {
		return Trunk{}, fmt.Errorf("put trunk: %w", err)
	}
	sources, err := json.Marshal(t.InboundSources)
	if err != nil {
		return Trunk{}, err
	}
	var out Trunk
	err = r.db.update(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO trunk (id, host, port, transport, username, password,
			register, from_domain, inbound_sources, updated_at) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET host = excluded.host, port = excluded.port,
			transport = excluded.transport, username = excluded.username, password = excluded.password,
			register = excluded.register, from_domain = excluded.from_domain,
			inbound_sources = excluded.inbound_sources, updated_at = excluded.updated_at`,
			t.Host, t.Port, t.Transport, t.Username, t.Password, boolInt(t.Register), t.FromDomain,
			string(sources), r.db.now().UnixMilli())
		if err != nil {
			return err
		}
		out, err = readTrunk(ctx, tx)
		return err
	})
	if err != nil {
		return Trunk{}, fmt.Errorf("put trunk: %w", err)
	}
	return out, nil
}

func validateTrunk(t *Trunk) error {
	if strings.Contains(t.Host, ":") && net.ParseIP(t.Host) == nil {
		return invalid("host", RuleHost, "a host name or address, without a port (the port is its own field)")
	}
	if err := checkHost("host", t.Host); err != nil {
		return err
	}
	if t.Host == "" && (t.Username != "" || t.Register) {
		return invalid("host", RuleRequired, "a trunk with credentials or registration needs a host")
	}
	if t.Port < 1 || t.Port > 65535 {
		return invalid("port", RuleRange, "must be 1 to 65535")
	}
	if t.Transport != "udp" && t.Transport != "tcp" {
		return invalid("transport", RuleEnum, "must be udp or tcp")
	}
	if err := checkHeaderSafe("username", t.Username, maxTextLen); err != nil {
		return err
	}
	if strings.ContainsAny(t.Username, " @:;") {
		return invalid("username", RuleToken, "no spaces, @, : or ;")
	}
	if len(t.Password) > 128 || strings.ContainsAny(t.Password, "\x00\r\n") {
		return invalid("password", RuleLength, "at most 128 characters, no line breaks")
	}
	if t.Register && (t.Username == "" || t.Password == "") {
		return invalid("register", RuleRequired, "registering to the provider needs a username and a password")
	}
	if err := checkHost("from_domain", t.FromDomain); err != nil {
		return err
	}
	if len(t.InboundSources) > maxInboundSources {
		return invalid("inbound_sources", RuleMaxItems, fmt.Sprintf("at most %d entries", maxInboundSources))
	}
	for i, s := range t.InboundSources {
		p, err := parseSource(s)
		if err != nil {
			return invalid(fmt.Sprintf("inbound_sources[%d]", i), RuleHost, "must be an IP address or a CIDR prefix")
		}
		t.InboundSources[i] = p
	}
	slices.Sort(t.InboundSources)
	t.InboundSources = slices.Compact(t.InboundSources)
	return nil
}

// parseSource normalises an IP address or CIDR prefix.
func parseSource(s string) (string, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return "", err
		}
		return p.Masked().String(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return "", err
	}
	return a.String(), nil
}

// DeniedPrefix is a destination prefix (in +E.164 form) no call may reach
// through the trunk.
type DeniedPrefix struct {
	Prefix string
	Note   string
}

// DeniedPrefixes is the repository of the toll-fraud deny list.
type DeniedPrefixes struct{ db *DB }

const maxDeniedPrefixes = 1000

// Find returns the deny list, ordered by prefix.
func (r *DeniedPrefixes) Find(ctx context.Context) ([]DeniedPrefix, error) {
	out := []DeniedPrefix{}
	err := r.db.view(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT prefix, note FROM denied_prefixes ORDER BY prefix`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var p DeniedPrefix
			if err := rows.Scan(&p.Prefix, &p.Note); err != nil {
				return err
			}
			out = append(out, p)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("denied prefixes: %w", err)
	}
	return out, nil
}

// Replace sets the whole deny list in one transaction.
func (r *DeniedPrefixes) Replace(ctx context.Context, list []DeniedPrefix) ([]DeniedPrefix, error) {
	if len(list) > maxDeniedPrefixes {
		return nil, fmt.Errorf("replace denied prefixes: %w", invalid("prefixes", RuleMaxItems, fmt.Sprintf("at most %d prefixes", maxDeniedPrefixes)))
	}
	seen := make(map[string]bool, len(list))
	for i, p := range list {
		field := fmt.Sprintf("prefixes[%d]", i)
		if len(p.Prefix) < 2 || len(p.Prefix) > 16 || p.Prefix[0] != '+' || !isDigits(p.Prefix[1:]) {
			return nil, fmt.Errorf("replace denied prefixes: %w", invalid(field, RuleE164, "a + and 1 to 15 digits"))
		}
		if seen[p.Prefix] {
			return nil, fmt.Errorf("replace denied prefixes: %w", invalid(field, RuleUnique, "listed twice"))
		}
		seen[p.Prefix] = true
		if err := checkHeaderSafe(field+".note", p.Note, maxTextLen); err != nil {
			return nil, fmt.Errorf("replace denied prefixes: %w", err)
		}
	}
	err := r.db.update(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM denied_prefixes`); err != nil {
			return err
		}
		now := r.db.now().UnixMilli()
		for _, p := range list {
			if _, err := tx.ExecContext(ctx, `INSERT INTO denied_prefixes (prefix, note, created_at) VALUES (?, ?, ?)`,
				p.Prefix, p.Note, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("replace denied prefixes: %w", err)
	}
	return r.Find(ctx)
}
