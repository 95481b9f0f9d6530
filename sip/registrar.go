package sip

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	gosip "github.com/emiago/sipgo/sip"
)

// dummyPassword is hashed for unknown users so that their answers take as
// long as a wrong password's: no timing oracle for valid phone names.
const dummyPassword = "not-a-real-password-0123456789"

// register answers a REGISTER (RFC 3261 §10.3) after digest authentication
// (RFC 3261 §22, RFC 7616, RFC 8760). It returns nil when the request is to
// be dropped unanswered (a throttled or blocked source).
func (s *Server) register(req *gosip.Request) *gosip.Response {
	now := s.now()
	phone, res, outcome := s.authenticate(req, false)
	if outcome != authOK {
		if outcome != "" {
			s.metrics.registered(outcome)
		}
		return res
	}

	// A phone binds contacts for its user's extension; it may name
	// itself or the extension in To.
	to := req.To()
	if to == nil || (to.Address.User != phone.Name && to.Address.User != phone.Extension) {
		s.metrics.registered("forbidden")
		return gosip.NewResponseFromRequest(req, 403, "Forbidden", nil)
	}
	return s.bind(req, phone, now)
}

// bind applies the REGISTER's contacts to the phone's bindings.
func (s *Server) bind(req *gosip.Request, phone Phone, now time.Time) *gosip.Response {
	defExpires := s.cfg.DefaultExpires
	if h := req.GetHeader("Expires"); h != nil {
		n, err := strconv.ParseUint(strings.TrimSpace(h.Value()), 10, 32)
		if err != nil {
			s.metrics.registered("invalid")
			return gosip.NewResponseFromRequest(req, 400, "Bad Request (Expires)", nil)
		}
		defExpires = time.Duration(n) * time.Second
	}

	contacts := req.GetHeaders("Contact")
	var changes []bindingChange
	removeAll := false
	for _, h := range contacts {
		c, ok := h.(*gosip.ContactHeader)
		if !ok {
			s.metrics.registered("invalid")
			return gosip.NewResponseFromRequest(req, 400, "Bad Request (Contact)", nil)
		}
		if c.Address.Wildcard {
			// RFC 3261 §10.3 step 6: "*" only alone and with Expires: 0.
			if len(contacts) != 1 || req.GetHeader("Expires") == nil || defExpires != 0 {
				s.metrics.registered("invalid")
				return gosip.NewResponseFromRequest(req, 400, "Bad Request (wildcard Contact)", nil)
			}
			removeAll = true
			continue
		}
		if c.Address.Scheme != "sip" && c.Address.Scheme != "sips" || c.Address.Host == "" {
			s.metrics.registered("invalid")
			return gosip.NewResponseFromRequest(req, 400, "Bad Request (Contact URI)", nil)
		}
		exp := defExpires
		if v, ok := c.Params.Get("expires"); ok {
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				s.metrics.registered("invalid")
				return gosip.NewResponseFromRequest(req, 400, "Bad Request (Contact expires)", nil)
			}
			exp = time.Duration(n) * time.Second
		}
		if exp > 0 && exp < s.cfg.MinExpires {
			s.metrics.registered("interval_too_brief")
			res := gosip.NewResponseFromRequest(req, 423, "Interval Too Brief", nil)
			res.AppendHeader(gosip.NewHeader("Min-Expires", strconv.Itoa(int(s.cfg.MinExpires/time.Second))))
			return res
		}
		exp = min(exp, s.cfg.MaxExpires)
		ch := bindingChange{Contact: c.Address.String(), Expires: exp}
		if v, ok := c.Params.Get("+sip.instance"); ok {
			ch.Instance = strings.Trim(v, `"`)
			if v, ok := c.Params.Get("reg-id"); ok {
				ch.RegID, _ = strconv.Atoi(v)
			}
		}
		changes = append(changes, ch)
	}

	tmpl := Binding{
		AOR:       phone.Extension,
		Phone:     phone.Name,
		Source:    req.Source(),
		Transport: req.Transport(),
	}
	if h := req.GetHeader("User-Agent"); h != nil {
		tmpl.UserAgent = truncate(h.Value(), 128)
	}
	if paths := req.GetHeaders("Path"); len(paths) > 0 {
		vals := make([]string, len(paths))
		for i, p := range paths {
			vals[i] = p.Value()
		}
		tmpl.Path = truncate(strings.Join(vals, ", "), 1024)
	}
	if id := req.CallID(); id != nil {
		tmpl.CallID = string(*id)
	}
	if cs := req.CSeq(); cs != nil {
		tmpl.CSeq = cs.SeqNo
	}

	var current []Binding
	if len(changes) == 0 && !removeAll {
		// A query: list the current bindings (RFC 3261 §10.2.3).
		current = s.bindings.phoneBindings(phone.Extension, phone.Name)
	} else {
		var outOfOrder bool
		current, outOfOrder = s.bindings.apply(tmpl, changes, removeAll, s.cfg.MaxContactsPerPhone, now)
		if outOfOrder {
			s.metrics.registered("out_of_order")
			return gosip.NewResponseFromRequest(req, 500, "Server Internal Error (CSeq out of order)", nil)
		}
		if s.mailboxes != nil {
			// The contact's lamp is brought up to date in the
			// background, after this answer (see mwi_refresh.go).
			s.mwi.registered(phone.Extension, phone.Name, current, changes, now)
		}
	}

	res := gosip.NewResponseFromRequest(req, 200, "OK", nil)
	for i := range current {
		res.AppendHeader(contactHeader(&current[i], now))
	}
	if tmpl.Path != "" {
		for _, p := range req.GetHeaders("Path") {
			res.AppendHeader(gosip.NewHeader("Path", p.Value()))
		}
	}
	res.AppendHeader(gosip.NewHeader("Date", now.UTC().Format(http.TimeFormat)))
	if len(changes) > 0 && allRemoved(changes) || removeAll {
		s.metrics.registered("unregistered")
	} else {
		s.metrics.registered("registered")
	}
	return res
}

func allRemoved(cs []bindingChange) bool {
	for _, c := range cs {
		if c.Expires > 0 {
			return false
		}
	}
	return true
}

// contactHeader renders a binding for a 200 response, with its remaining
// lifetime and the RFC 5626 parameters echoed.
func contactHeader(b *Binding, now time.Time) gosip.Header {
	var sb strings.Builder
	sb.Grow(len(b.Contact) + 64)
	sb.WriteByte('<')
	sb.WriteString(b.Contact)
	sb.WriteString(">;expires=")
	sb.WriteString(strconv.Itoa(int(max(b.Expires.Sub(now).Round(time.Second), 0) / time.Second)))
	if b.Instance != "" {
		sb.WriteString(`;+sip.instance="`)
		sb.WriteString(b.Instance)
		sb.WriteByte('"')
		if b.RegID != 0 {
			sb.WriteString(";reg-id=")
			sb.WriteString(strconv.Itoa(b.RegID))
		}
	}
	return gosip.NewHeader("Contact", sb.String())
}

// challenge builds a 401 with one WWW-Authenticate per offered algorithm,
// all sharing one fresh nonce.
func (s *Server) challenge(req *gosip.Request, stale bool) *gosip.Response {
	return s.digestChallenge(req, false, stale)
}

func (s *Server) offers(a Algorithm) bool {
	for _, o := range s.cfg.Algorithms {
		if o == a {
			return true
		}
	}
	return false
}

func (s *Server) sourceBlocked(ip string) {
	s.metrics.blockedTot.Inc()
	s.log.Warn("sip source blocked", "event", "source_blocked", "src", ip, "for", s.cfg.Guard.BlockFor.String())
}

// securityEvent logs one line per authentication failure in a fixed shape
// that fail2ban can match: event=auth_failure user=... src=... reason=...
func (s *Server) securityEvent(msg, user, ip, reason string) {
	s.log.Warn(msg, "event", "auth_failure", "user", truncate(user, 64), "src", ip, "reason", reason)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
