package provision

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Directory finds phones for the handler.
type Directory interface {
	// DeviceByMAC returns the phone whose MAC is mac (12 lowercase hex
	// digits) with its user's fields, or an error wrapping
	// ErrUnknownDevice when there is none.
	DeviceByMAC(ctx context.Context, mac string) (Device, error)
}

// SiteCredential is a provisioning user name and password shared by the
// phones of a site, for devices set up before their own SIP credentials
// are known to them. Site "" is every site.
type SiteCredential struct {
	Username string
	Password string
	Site     string
}

// Handler serves GET /provision/{file} to phones.
//
// A per-phone file (it carries the phone's SIP password) is served only to
// a device that authenticates with HTTP digest (RFC 7616, MD5 or SHA-256,
// qop=auth) as that phone (user name = phone name, password = its SIP
// password) or with a site credential covering the phone's site. An unknown
// MAC and wrong credentials get the same answer: 401 with a fresh challenge,
// the same body and headers, after the same work (a dummy password is
// hashed). One phone's credentials cannot fetch another phone's file: only
// the phone the MAC names is checked against the user name. A source that
// keeps failing is throttled (429), then blocked (403).
//
// Common files hold no secret (the SIP server address and the provisioning
// URL, which DHCP already gives every device) and are served without
// authentication, except to a blocked source; a phone that has not been
// given credentials yet can still find its way.
//
// The handler takes the file name from the {file} path value, else from
// the last path segment, so it can be mounted as "GET /provision/{file}" or
// under a prefix.
type Handler struct {
	dir       Directory
	site      func() Site
	siteCreds func(username string) (SiteCredential, bool)
	now       func() time.Time
	log       *slog.Logger
	reg       prometheus.Registerer
	realm     string
	algs      []Algorithm
	nonces    nonceMaker
	replay    *replayTable
	guard     *guard
	metrics   *metrics
	dummy     string // hashed for an unknown device, so that it costs what a known one does

	digests atomic.Int64 // digest computations, for tests of equal work
}

// Option configures a Handler.
type Option func(*Handler)

// WithSiteCredentials lets devices authenticate with per-site provisioning
// credentials; lookup returns the credential for a user name.
func WithSiteCredentials(lookup func(username string) (SiteCredential, bool)) Option {
	return func(h *Handler) { h.siteCreds = lookup }
}

// WithClock sets the clock (nonce expiry, throttling, daylight-saving year).
func WithClock(now func() time.Time) Option { return func(h *Handler) { h.now = now } }

// WithLogger sets the logger; the default discards.
func WithLogger(l *slog.Logger) Option { return func(h *Handler) { h.log = l } }

// WithRegisterer registers the switchboard_provision_* metrics there.
func WithRegisterer(r prometheus.Registerer) Option { return func(h *Handler) { h.reg = r } }

// WithNonceKey sets the HMAC key nonces are signed with; engines serving
// one domain share it. Without it a random key is made at start.
func WithNonceKey(key []byte) Option {
	return func(h *Handler) { h.nonces.key = slices.Clone(key) }
}

// WithNonceLifetime sets how long a nonce is accepted (default 5 minutes).
func WithNonceLifetime(d time.Duration) Option { return func(h *Handler) { h.nonces.lifetime = d } }

// WithRealm sets the digest realm (default "switchboard provisioning").
func WithRealm(realm string) Option { return func(h *Handler) { h.realm = realm } }

// WithAlgorithms sets the digest algorithms offered, preferred first
// (default MD5 then SHA-256: desk phones' HTTP clients know MD5, and a
// client that knows SHA-256 may pick it).
func WithAlgorithms(algs ...Algorithm) Option {
	return func(h *Handler) { h.algs = slices.Clone(algs) }
}

// WithGuard sets the throttling and blocking of failing sources.
func WithGuard(cfg GuardConfig) Option { return func(h *Handler) { h.guard = newGuard(cfg) } }

// NewHandler returns the phone-facing handler. site is read on every
// request, so settings changes apply at once.
func NewHandler(dir Directory, site func() Site, opts ...Option) (*Handler, error) {
	if dir == nil || site == nil {
		return nil, errors.New("provisioning handler: directory and site are required")
	}
	h := &Handler{
		dir:    dir,
		site:   site,
		now:    time.Now,
		log:    slog.New(slog.DiscardHandler),
		reg:    prometheus.NewRegistry(),
		realm:  "switchboard provisioning",
		algs:   []Algorithm{AlgorithmMD5, AlgorithmSHA256},
		nonces: nonceMaker{lifetime: 5 * time.Minute},
		replay: newReplayTable(8192),
		guard:  newGuard(DefaultGuardConfig),
		dummy:  rand.Text(),
	}
	for _, o := range opts {
		o(h)
	}
	if len(h.nonces.key) == 0 {
		h.nonces.key = make([]byte, 32)
		rand.Read(h.nonces.key) // never fails (Go 1.24+)
	}
	if h.nonces.lifetime <= 0 {
		return nil, errors.New("provisioning handler: nonce lifetime must be positive")
	}
	if h.realm == "" || strings.ContainsAny(h.realm, "\"\\\r\n") {
		return nil, fmt.Errorf("provisioning handler: realm %q must be non-empty without quotes or line breaks", h.realm)
	}
	if len(h.algs) == 0 {
		return nil, errors.New("provisioning handler: no digest algorithm offered")
	}
	for _, a := range h.algs {
		if a != AlgorithmMD5 && a != AlgorithmSHA256 {
			return nil, fmt.Errorf("provisioning handler: algorithm %v not supported", a)
		}
	}
	m, err := newMetrics(h.reg, func() int { return h.guard.blockedCount(h.now()) })
	if err != nil {
		return nil, fmt.Errorf("provisioning handler metrics: %w", err)
	}
	h.metrics = m
	return h, nil
}

// ServeHTTP answers one file request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := fileName(r)
	src := sourceKey(r.RemoteAddr)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		h.plain(w, http.StatusMethodNotAllowed, resultBadMethod)
		return
	}
	now := h.now()
	if h.guard.blocked(src, now) {
		h.plain(w, http.StatusForbidden, resultBlocked)
		return
	}
	file, ok := Resolve(name)
	if !ok {
		h.plain(w, http.StatusNotFound, resultNotFound)
		return
	}
	site := h.site()
	if site.Year == 0 {
		site.Year = now.Year()
	}
	if file.Common() {
		h.serveCommon(w, r, file, site, src)
		return
	}
	h.servePhone(w, r, file, site, src, now)
}

// fileName is the {file} path value, else the last segment of the path as
// sent; an escaped "/" stays in the name, which Resolve then refuses.
func fileName(r *http.Request) string {
	if name := r.PathValue("file"); name != "" {
		return name
	}
	p := r.URL.EscapedPath()
	name, err := url.PathUnescape(p[strings.LastIndexByte(p, '/')+1:])
	if err != nil {
		return ""
	}
	return name
}

func (h *Handler) serveCommon(w http.ResponseWriter, r *http.Request, file File, site Site, src string) {
	m, _ := Lookup(file.Models[0])
	content, ctype, err := RenderCommon(m, file.Name, site)
	if err != nil {
		h.log.Error("render provisioning file", "model", m.ID, "file", file.Name, "src", src, "err", err)
		h.plain(w, http.StatusInternalServerError, resultError)
		return
	}
	h.metrics.served.WithLabelValues(m.ID, "common").Inc()
	h.log.Info("provisioning file served", "phone", "", "model", m.ID, "file", file.Name, "src", src, "auth", "none")
	h.write(w, r, content, ctype, "no-cache")
}

// via is what a device authenticated with.
type via uint8

const (
	viaUnknown via = iota // nothing matched: the dummy password is checked
	viaPhone
	viaSite
)

func (v via) String() string {
	switch v {
	case viaPhone:
		return "phone"
	case viaSite:
		return "site"
	}
	return "unknown"
}

func (h *Handler) servePhone(w http.ResponseWriter, r *http.Request, file File, site Site, src string, now time.Time) {
	authz := r.Header.Get("Authorization")
	if authz == "" {
		h.challenge(w, now, false, resultChallenged)
		return
	}
	switch v, justBlocked := h.guard.check(src, now); v {
	case verdictThrottle:
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(h.guard.cfg.ThrottleInterval.Round(time.Second)/time.Second))))
		h.plain(w, http.StatusTooManyRequests, resultThrottled)
		return
	case verdictBlock:
		if justBlocked {
			h.blocked(src)
		}
		h.plain(w, http.StatusForbidden, resultBlocked)
		return
	}
	creds, err := parseCredentials(authz)
	if err != nil {
		h.fail(w, now, src, file, "", reasonMalformed)
		return
	}
	if creds.realm != h.realm || creds.qop != "auth" || !slices.Contains(h.algs, creds.algorithm) || !uriMatches(creds.uri, r.URL) {
		h.fail(w, now, src, file, creds.username, reasonBadParameters)
		return
	}
	state := h.nonces.check(creds.nonce, now)
	if state == nonceUnknown {
		// Not a nonce of ours (another engine's key, or made up): nothing
		// was checked, so nothing is counted.
		h.challenge(w, now, false, resultChallenged)
		return
	}

	dev, err := h.dir.DeviceByMAC(r.Context(), file.MAC)
	found := err == nil
	if err != nil && !errors.Is(err, ErrUnknownDevice) {
		h.log.Error("provisioning device lookup", "mac", file.MAC, "src", src, "err", err)
		h.plain(w, http.StatusInternalServerError, resultError)
		return
	}
	var sc SiteCredential
	scFound := false
	if h.siteCreds != nil {
		sc, scFound = h.siteCreds(creds.username)
		scFound = scFound && sc.Username == creds.username && sc.Password != ""
	}
	password, how := h.dummy, viaUnknown
	switch {
	case found && creds.username == dev.PhoneName:
		password, how = dev.SIPPassword, viaPhone
	case scFound:
		password, how = sc.Password, viaSite
	}
	if !h.verify(creds, r.Method, password) || how == viaUnknown {
		reason := reasonBadPassword
		switch {
		case how == viaUnknown && !found:
			reason = reasonUnknownDevice
		case how == viaUnknown:
			reason = reasonWrongUser
		}
		h.fail(w, now, src, file, creds.username, reason)
		return
	}
	// The credentials are right; an old or replayed nonce only needs a
	// new one (RFC 7616 §3.3, stale=true), and is no failure.
	if state == nonceExpired || !h.replay.fresh(creds.nonce, creds.ncValue) {
		h.challenge(w, now, true, resultStale)
		return
	}
	if how == viaSite && (!found || sc.Site != "" && sc.Site != dev.Site) {
		h.plain(w, http.StatusNotFound, resultNotFound)
		return
	}
	m, ok := Lookup(dev.Model)
	if !ok || !slices.Contains(file.Models, m.ID) {
		if !ok {
			h.log.Warn("provisioning: phone has no supported model", "phone", dev.PhoneName, "model", dev.Model, "file", file.Name, "src", src)
		}
		h.plain(w, http.StatusNotFound, resultNotFound)
		return
	}
	content, ctype, err := RenderFile(m, file.Name, dev, site)
	if err != nil {
		h.log.Error("render provisioning file", "phone", dev.PhoneName, "model", m.ID, "file", file.Name, "src", src, "err", err)
		h.plain(w, http.StatusInternalServerError, resultError)
		return
	}
	h.metrics.served.WithLabelValues(m.ID, "phone").Inc()
	h.log.Info("provisioning file served", "phone", dev.PhoneName, "model", m.ID, "file", file.Name, "src", src, "auth", how.String())
	h.write(w, r, content, ctype, "no-store")
}

// verify checks the digest response against password, in constant time.
func (h *Handler) verify(c credentials, method, password string) bool {
	h.digests.Add(1)
	want := digestResponse(c.algorithm, c.username, h.realm, password, method, c.uri, c.nonce, c.nc, c.cnonce, c.qop)
	return subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(c.response))) == 1
}

// uriMatches compares the digest uri with the request (RFC 7616 §3.4.6):
// the request-target as sent, or an absolute URI naming the same path.
func uriMatches(uri string, u *url.URL) bool {
	if uri == u.RequestURI() {
		return true
	}
	p, err := url.Parse(uri)
	return err == nil && p.IsAbs() && p.RequestURI() == u.RequestURI()
}

// fail answers a failed authentication like an unauthenticated request,
// counts it against the source and logs it in a form fail2ban can match.
func (h *Handler) fail(w http.ResponseWriter, now time.Time, src string, file File, user, reason string) {
	h.metrics.authFail.WithLabelValues(reason).Inc()
	if len(user) > 64 {
		user = user[:64]
	}
	h.log.Warn("provisioning authentication failed", "event", "provision_auth_failure",
		"user", user, "file", file.Name, "src", src, "reason", reason)
	if h.guard.fail(src, now) {
		h.blocked(src)
	}
	h.challenge(w, now, false, resultUnauthorized)
}

func (h *Handler) blocked(src string) {
	h.metrics.blockedTot.Inc()
	h.log.Warn("provisioning source blocked", "event", "provision_source_blocked", "src", src,
		"for", h.guard.cfg.BlockFor.String())
}

// challenge answers 401 with one challenge per offered algorithm, all with
// one fresh nonce. Every 401 has the same headers and body; only stale
// differs, and only for a device whose credentials were right.
func (h *Handler) challenge(w http.ResponseWriter, now time.Time, stale bool, result string) {
	nonce := h.nonces.issue(now)
	for _, a := range h.algs {
		v := fmt.Sprintf(`Digest realm="%s", qop="auth", algorithm=%s, nonce="%s"`, h.realm, a, nonce)
		if stale {
			v += ", stale=true"
		}
		w.Header().Add("WWW-Authenticate", v)
	}
	h.plain(w, http.StatusUnauthorized, result)
}

// plain answers status with its text as the body.
func (h *Handler) plain(w http.ResponseWriter, status int, result string) {
	h.metrics.requests.WithLabelValues(result).Inc()
	hd := w.Header()
	hd.Set("Content-Type", "text/plain; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	io.WriteString(w, strconv.Itoa(status)+" "+http.StatusText(status)+"\n")
}

func (h *Handler) write(w http.ResponseWriter, r *http.Request, content []byte, ctype, cache string) {
	h.metrics.requests.WithLabelValues(resultServed).Inc()
	hd := w.Header()
	hd.Set("Content-Type", ctype)
	hd.Set("Content-Length", strconv.Itoa(len(content)))
	hd.Set("Cache-Control", cache)
	hd.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(content)
	}
}
