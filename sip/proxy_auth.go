package sip

import (
	"context"

	gosip "github.com/emiago/sipgo/sip"
)

// authOK is the outcome of a request whose credentials were accepted. The
// other outcomes are the register_total labels (challenged, blocked,
// throttled, invalid, stale_nonce, auth_failed), or "" for a server error
// that counts as none of them.
const authOK = "ok"

// authenticate checks a request's digest credentials (RFC 3261 §22,
// RFC 7616, RFC 8760): the Authorization header of a REGISTER, which a
// registrar challenges with 401, or the Proxy-Authorization header of a
// request a proxy challenges with 407 (§22.3). Both share the nonces, the
// realm, the algorithms and the guard of failing sources.
//
// It returns the phone and authOK, or the response to send and the outcome;
// the response is nil when the request is to be dropped unanswered (a
// throttled or blocked source).
func (s *Server) authenticate(req *gosip.Request, proxy bool) (Phone, *gosip.Response, string) {
	now := s.now()
	ip := sourceIP(req.Source())

	authz := s.credentialsHeader(req, proxy)
	if authz == nil {
		return Phone{}, s.digestChallenge(req, proxy, false), "challenged"
	}
	v, justBlocked := s.guard.check(ip, now)
	if justBlocked {
		s.sourceBlocked(ip)
	}
	switch v {
	case verdictBlock:
		return Phone{}, nil, "blocked"
	case verdictThrottle:
		return Phone{}, nil, "throttled"
	}

	creds, err := ParseCredentials(authz.Value())
	if err != nil {
		s.metrics.authFail.WithLabelValues("malformed").Inc()
		s.securityEvent("malformed credentials", "", ip, err.Error())
		reason := "Bad Request (malformed Authorization)"
		if proxy {
			reason = "Bad Request (malformed Proxy-Authorization)"
		}
		return Phone{}, gosip.NewResponseFromRequest(req, 400, reason, nil), "invalid"
	}
	// A challenge this engine did not issue, for another realm or
	// algorithm, or an expired one: challenge afresh, count nothing
	// (the phone is not at fault, and a nonce from a peer engine is not an
	// attack).
	if creds.Realm != s.cfg.Realm || !s.offers(creds.Algorithm) {
		return Phone{}, s.digestChallenge(req, proxy, false), "challenged"
	}
	switch s.nonces.Peek(creds.Nonce) {
	case NonceValid:
	case NonceStale:
		return Phone{}, s.digestChallenge(req, proxy, true), "stale_nonce"
	default:
		return Phone{}, s.digestChallenge(req, proxy, false), "challenged"
	}

	phone, found, err := s.phones.LookupPhone(context.Background(), creds.Username)
	if err != nil {
		s.log.Error("look up phone", "phone", creds.Username, "error", err)
		res := gosip.NewResponseFromRequest(req, 500, "Server Internal Error", nil)
		res.AppendHeader(gosip.NewHeader("Retry-After", "5"))
		return Phone{}, res, ""
	}
	password := dummyPassword
	if found {
		password = phone.Password
	}
	ok := creds.Verify(string(req.Method), password) && found
	if !ok {
		reason := "bad_password"
		if !found {
			reason = "unknown_user"
		}
		s.metrics.authFail.WithLabelValues("bad_credentials").Inc()
		s.securityEvent("authentication failed", creds.Username, ip, reason)
		if s.guard.fail(ip, now) {
			s.sourceBlocked(ip)
		}
		// Same answer as to a request without credentials: a phone
		// name that exists and one that does not cannot be told apart.
		return Phone{}, s.digestChallenge(req, proxy, false), "auth_failed"
	}
	switch s.nonces.Check(creds.Nonce, creds.NC) {
	case NonceValid:
	case NonceStale:
		return Phone{}, s.digestChallenge(req, proxy, true), "stale_nonce"
	default:
		s.metrics.authFail.WithLabelValues("replay").Inc()
		s.log.Info("digest nonce replayed", "phone", phone.Name, "src", ip)
		return Phone{}, s.digestChallenge(req, proxy, false), "auth_failed"
	}
	s.guard.succeed(ip)
	return phone, nil, authOK
}

// credentialsHeader picks the credentials meant for this engine: a request
// that crossed several proxies may carry one Proxy-Authorization per realm
// (RFC 3261 §22.3); the first one is taken when none names ours.
func (s *Server) credentialsHeader(req *gosip.Request, proxy bool) gosip.Header {
	if !proxy {
		return req.GetHeader("Authorization")
	}
	hs := req.GetHeaders("Proxy-Authorization")
	if len(hs) == 0 {
		return nil
	}
	for _, h := range hs {
		if c, err := ParseCredentials(h.Value()); err == nil && c.Realm == s.cfg.Realm {
			return h
		}
	}
	return hs[0]
}

// digestChallenge builds a 401 with WWW-Authenticate, or for a proxy a 407
// with Proxy-Authenticate (RFC 3261 §22.3), one header per offered
// algorithm, all sharing one fresh nonce.
func (s *Server) digestChallenge(req *gosip.Request, proxy, stale bool) *gosip.Response {
	code, reason, name := 401, "Unauthorized", "WWW-Authenticate"
	if proxy {
		code, reason, name = 407, "Proxy Authentication Required", "Proxy-Authenticate"
	}
	res := gosip.NewResponseFromRequest(req, code, reason, nil)
	nonce := s.nonces.Issue()
	for _, alg := range s.cfg.Algorithms {
		res.AppendHeader(gosip.NewHeader(name, Challenge(s.cfg.Realm, nonce, "", alg, stale)))
	}
	return res
}
