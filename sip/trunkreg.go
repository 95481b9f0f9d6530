package sip

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/icholy/digest"

	gosip "github.com/emiago/sipgo/sip"
)

// The states of the registration at the provider.
const (
	TrunkRegOff         = "off"         // no trunk, or it does not register
	TrunkRegRegistering = "registering" // the first REGISTER is on its way
	TrunkRegRegistered  = "registered"
	TrunkRegFailed      = "failed" // retried after a back-off
)

// TrunkRegistration is the state of this engine's registration at the
// provider, as GET /api/v1/trunk shows it.
type TrunkRegistration struct {
	State   string
	Expires time.Time // while registered
	// Error says why the last attempt failed.
	Error string
	// NextAttempt is when the registration is refreshed or retried.
	NextAttempt time.Time
}

const (
	// trunkRegExpires is the registration lifetime asked of the provider.
	trunkRegExpires = 3600
	// trunkRegRetryMin and trunkRegRetryMax bound the back-off after a
	// failed registration (RFC 5626 §4.5 style: doubling, capped).
	trunkRegRetryMin = 30 * time.Second
	trunkRegRetryMax = 10 * time.Minute
	// trunkRegTimeout bounds one REGISTER exchange.
	trunkRegTimeout = 10 * time.Second
)

// trunkRegistrar keeps the engine registered at the provider while the
// trunk says so: it registers when the trunk is configured or changed,
// refreshes before expiry, backs off on failure, and un-registers the old
// binding when the trunk changes or stops registering.
type trunkRegistrar struct {
	s *Server

	mu     sync.Mutex // guards status
	status TrunkRegistration

	// Owned by the loop.
	cur      Trunk // the trunk registered with; zero when none
	active   bool  // cur holds a binding at the provider
	callID   string
	cseq     uint32
	next     time.Time
	failures int
}

// TrunkRegistration returns the state of the registration at the provider.
func (s *Server) TrunkRegistration() TrunkRegistration {
	r := s.trunkReg
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status
}

func (r *trunkRegistrar) setStatus(st TrunkRegistration) {
	r.mu.Lock()
	r.status = st
	r.mu.Unlock()
}

// run checks the trunk every second until the server stops; reading it is
// cheap (the configuration cache), so changes apply within a second.
func (r *trunkRegistrar) run() {
	defer r.s.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-r.s.ctx.Done():
			if r.active {
				// A last un-register, bounded: the engine is stopping.
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				_, _ = r.exchange(ctx, r.cur, 0)
				cancel()
			}
			return
		case <-t.C:
			r.tick(time.Now())
		}
	}
}

func (r *trunkRegistrar) tick(now time.Time) {
	if r.s.trunk == nil {
		return
	}
	ctx, cancel := context.WithTimeout(r.s.ctx, trunkRegTimeout)
	defer cancel()
	t, found, err := r.s.trunk.Trunk(ctx)
	if err != nil {
		r.s.log.Error("read trunk", "error", err)
		return
	}
	want := found && t.Register && t.Host != ""
	if r.active && (!want || t != r.cur) {
		if _, err := r.exchange(ctx, r.cur, 0); err != nil {
			r.s.log.Info("un-register at the provider", "host", r.cur.Host, "error", err)
		}
		r.active = false
	}
	if !want {
		if r.cur != (Trunk{}) || r.status.State != TrunkRegOff {
			r.cur, r.failures = Trunk{}, 0
			r.setStatus(TrunkRegistration{State: TrunkRegOff})
		}
		return
	}
	if t != r.cur {
		// A new binding: new Call-ID, register at once.
		r.cur, r.callID, r.cseq, r.failures, r.next = t, rand.Text(), 0, 0, time.Time{}
		r.setStatus(TrunkRegistration{State: TrunkRegRegistering})
	}
	if now.Before(r.next) {
		return
	}
	expires, err := r.exchange(ctx, t, trunkRegExpires)
	now = time.Now()
	if err != nil {
		r.active = false
		r.failures++
		backoff := min(trunkRegRetryMin<<min(r.failures-1, 6), trunkRegRetryMax)
		r.next = now.Add(backoff)
		r.s.log.Warn("registration at the provider failed", "host", t.Host, "error", err, "retry_in", backoff.String())
		r.setStatus(TrunkRegistration{State: TrunkRegFailed, Error: err.Error(), NextAttempt: r.next})
		return
	}
	if !r.active || r.failures > 0 {
		r.s.log.Info("registered at the provider", "host", t.Host, "expires", expires.String())
	}
	r.active, r.failures = true, 0
	// Refresh well before expiry: a minute early, or halfway for short
	// registrations.
	r.next = now.Add(expires - min(expires/2, time.Minute))
	r.setStatus(TrunkRegistration{State: TrunkRegRegistered, Expires: now.Add(expires), NextAttempt: r.next})
}

// exchange sends one REGISTER for t asking for expires seconds (0
// un-registers), answers one challenge with the trunk's credentials, and
// returns the lifetime the provider granted.
func (r *trunkRegistrar) exchange(ctx context.Context, t Trunk, expires int) (time.Duration, error) {
	req := r.request(t, expires, "", "")
	res, err := r.do(ctx, req)
	if err != nil {
		return 0, err
	}
	if res.StatusCode == 423 {
		// Interval Too Brief (RFC 3261 §10.2.8): ask for its minimum.
		if h := res.GetHeader("Min-Expires"); h != nil {
			if m, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil && m > expires && m < 1<<20 {
				expires = m
				if res, err = r.do(ctx, r.request(t, expires, "", "")); err != nil {
					return 0, err
				}
			}
		}
	}
	if res.StatusCode == 401 || res.StatusCode == 407 {
		if t.Username == "" || t.Password == "" {
			return 0, fmt.Errorf("the provider answered %d and the trunk has no credentials", res.StatusCode)
		}
		name, creds, err := digestCredentials(res, "REGISTER", req.Recipient.String(), t.Username, t.Password)
		if err != nil {
			return 0, err
		}
		if res, err = r.do(ctx, r.request(t, expires, name, creds)); err != nil {
			return 0, err
		}
		if res.StatusCode == 401 || res.StatusCode == 407 {
			return 0, fmt.Errorf("the provider refused the trunk's credentials (%d)", res.StatusCode)
		}
	}
	if !res.IsSuccess() {
		return 0, fmt.Errorf("the provider answered %d %s", res.StatusCode, res.Reason)
	}
	return grantedExpires(res, expires), nil
}

// request builds a REGISTER of t's account for our address (RFC 3261
// §10.2), with credentials when credsName is set.
func (r *trunkRegistrar) request(t Trunk, expires int, credsName, creds string) *gosip.Request {
	s := r.s
	network, dest := t.destination()
	domain := t.FromDomain
	if domain == "" {
		domain = t.Host
	}
	user := t.Username
	if user == "" {
		user = "switchboard"
	}
	aor := gosip.Uri{Scheme: "sip", User: user, Host: domain, UriParams: gosip.NewParams(), Headers: gosip.NewParams()}
	req := gosip.NewRequest(gosip.REGISTER, gosip.Uri{Scheme: "sip", Host: domain, UriParams: gosip.NewParams(), Headers: gosip.NewParams()})
	host, port := s.localHostPort(network)
	req.AppendHeader(s.ownVia(network))
	mf := gosip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	from := &gosip.FromHeader{Address: aor, Params: gosip.NewParams()}
	from.Params.Add("tag", rand.Text()[:10])
	req.AppendHeader(from)
	req.AppendHeader(&gosip.ToHeader{Address: aor, Params: gosip.NewParams()})
	cid := gosip.CallIDHeader(r.callID)
	req.AppendHeader(&cid)
	r.cseq++
	req.AppendHeader(&gosip.CSeqHeader{SeqNo: r.cseq, MethodName: gosip.REGISTER})
	contact := gosip.Uri{Scheme: "sip", User: user, Host: host, Port: port, UriParams: gosip.NewParams(), Headers: gosip.NewParams()}
	if network != "UDP" {
		contact.UriParams.Add("transport", strings.ToLower(network))
	}
	req.AppendHeader(&gosip.ContactHeader{Address: contact, Params: gosip.NewParams()})
	req.AppendHeader(gosip.NewHeader("Expires", strconv.Itoa(expires)))
	if credsName != "" {
		req.AppendHeader(gosip.NewHeader(credsName, creds))
	}
	req.AppendHeader(gosip.NewHeader("User-Agent", "Switchboard"))
	req.SetTransport(network)
	req.SetDestination(dest)
	if network == "UDP" {
		if la, ok := s.listenerAddr(); ok {
			req.Laddr = la
		}
	}
	return req
}

// do runs one REGISTER transaction to its final response.
func (r *trunkRegistrar) do(ctx context.Context, req *gosip.Request) (*gosip.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, trunkRegTimeout)
	defer cancel()
	tx, err := r.s.proxy.client.TransactionRequest(ctx, req, noBuild)
	if err != nil {
		return nil, err
	}
	defer tx.Terminate()
	for {
		select {
		case res := <-tx.Responses():
			if res.IsProvisional() {
				continue
			}
			return res, nil
		case <-tx.Done():
			if err := tx.Err(); err != nil {
				return nil, err
			}
			return nil, errors.New("no answer from the provider")
		case <-ctx.Done():
			return nil, errors.New("no answer from the provider")
		}
	}
}

// digestCredentials answers a 401 or 407 (RFC 3261 §22.2): the header to
// send and its value.
func digestCredentials(res *gosip.Response, method, uri, username, password string) (string, string, error) {
	challengeName, credsName := "WWW-Authenticate", "Authorization"
	if res.StatusCode == 407 {
		challengeName, credsName = "Proxy-Authenticate", "Proxy-Authorization"
	}
	h := res.GetHeader(challengeName)
	if h == nil {
		return "", "", fmt.Errorf("%d without %s", res.StatusCode, challengeName)
	}
	chal, err := digest.ParseChallenge(h.Value())
	if err != nil {
		return "", "", fmt.Errorf("parse challenge: %w", err)
	}
	chal.Algorithm = strings.ToUpper(chal.Algorithm)
	creds, err := digest.Digest(chal, digest.Options{Method: method, URI: uri, Count: 1, Username: username, Password: password})
	if err != nil {
		return "", "", fmt.Errorf("digest: %w", err)
	}
	return credsName, creds.String(), nil
}

// grantedExpires reads the lifetime a 200 to REGISTER grants: the expires
// of our Contact, else the Expires header, else what was asked.
func grantedExpires(res *gosip.Response, asked int) time.Duration {
	secs := -1
	for _, h := range res.GetHeaders("Contact") {
		if c, ok := h.(*gosip.ContactHeader); ok && c.Params != nil {
			if v, ok := c.Params.Get("expires"); ok {
				if n, err := strconv.Atoi(v); err == nil {
					secs = n
					break
				}
			}
		}
	}
	if secs < 0 {
		if h := res.GetHeader("Expires"); h != nil {
			if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil {
				secs = n
			}
		}
	}
	if secs < 0 {
		secs = asked
	}
	return time.Duration(max(secs, 10)) * time.Second
}

// ownVia is the Via of a request this engine sends on its own (not one it
// forwards): a new branch, and rport for the answer's way back.
func (s *Server) ownVia(network string) *gosip.ViaHeader {
	host, port := s.localHostPort(network)
	via := &gosip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: network, Host: host, Port: port, Params: gosip.NewParams()}
	via.Params.Add("branch", gosip.GenerateBranch())
	via.Params.Add("rport", "")
	return via
}
