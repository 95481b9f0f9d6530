package admin

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Config is what NewHandler needs.
type Config struct {
	// Backend serves every /api/v1 resource. Required.
	Backend Backend
	// CheckToken reports whether a bearer token is valid. It must compare in
	// constant time. Nil rejects every token.
	CheckToken func(token string) bool
	// Gatherer is exposed on /metrics. Nil leaves /metrics unserved (404).
	Gatherer prometheus.Gatherer
	// Registerer receives the package's own metrics. Nil keeps them
	// unregistered.
	Registerer prometheus.Registerer
	// Health is called by /healthz; an error answers 503. Nil always
	// answers 200.
	Health func(ctx context.Context) error
	// Logger receives internal errors. Nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock: the instant an explanation is asked for when the
	// request names none. Nil means time.Now.
	Now func() time.Time
	// Provision serves GET /provision/{file} to phones, which authenticate
	// themselves; nil leaves it unserved.
	Provision http.Handler
}

// handlerFunc is an HTTP handler that returns its error instead of writing
// it; writeError answers it.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

type server struct {
	mux        *http.ServeMux
	backend    Backend
	checkToken func(string) bool
	health     func(context.Context) error
	logger     *slog.Logger
	metrics    *metrics
	now        func() time.Time
}

// NewHandler returns the handler of the admin API under /api/v1, /healthz
// and /metrics. Everything under /api/ requires a bearer token; /healthz and
// /metrics are open, to be reached by probes and scrapers.
func NewHandler(cfg Config) http.Handler {
	s := &server{
		mux:        http.NewServeMux(),
		backend:    cfg.Backend,
		checkToken: cfg.CheckToken,
		health:     cfg.Health,
		logger:     cfg.Logger,
		now:        cfg.Now,
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		// The API works without its own metrics; say so and carry on.
		s.logger.Warn("admin metrics not registered", "error", err)
	}
	s.metrics = m

	s.api("POST /api/v1/users", s.createUser)
	s.api("GET /api/v1/users", s.listUsers)
	s.api("GET /api/v1/users/{extension}", s.getUser)
	s.api("PATCH /api/v1/users/{extension}", s.updateUser)
	s.api("DELETE /api/v1/users/{extension}", s.deleteUser)

	s.api("POST /api/v1/users/{extension}/phones", s.createPhone)
	s.api("GET /api/v1/users/{extension}/phones", s.listPhones)
	s.api("GET /api/v1/users/{extension}/phones/{name}", s.getPhone)
	s.api("PATCH /api/v1/users/{extension}/phones/{name}", s.updatePhone)
	s.api("DELETE /api/v1/users/{extension}/phones/{name}", s.deletePhone)

	s.api("GET /api/v1/registrations", s.listRegistrations)

	s.api("POST /api/v1/time-frames", s.createTimeFrame)
	s.api("GET /api/v1/time-frames", s.listTimeFrames)
	s.api("GET /api/v1/time-frames/{name}", s.getTimeFrame)
	s.api("PATCH /api/v1/time-frames/{name}", s.updateTimeFrame)
	s.api("DELETE /api/v1/time-frames/{name}", s.deleteTimeFrame)

	s.api("POST /api/v1/users/{extension}/answering-rules", s.createAnsweringRule)
	s.api("GET /api/v1/users/{extension}/answering-rules", s.listAnsweringRules)
	s.api("PUT /api/v1/users/{extension}/answering-rules/order", s.reorderAnsweringRules)
	s.api("GET /api/v1/users/{extension}/answering-rules/{id}", s.getAnsweringRule)
	s.api("PATCH /api/v1/users/{extension}/answering-rules/{id}", s.updateAnsweringRule)
	s.api("DELETE /api/v1/users/{extension}/answering-rules/{id}", s.deleteAnsweringRule)

	s.api("GET /api/v1/trunk", s.getTrunk)
	s.api("PUT /api/v1/trunk", s.putTrunk)
	s.api("GET /api/v1/denied-prefixes", s.listDeniedPrefixes)
	s.api("PUT /api/v1/denied-prefixes", s.putDeniedPrefixes)

	s.api("GET /api/v1/users/{extension}/allow-block", s.getAllowBlock)
	s.api("PUT /api/v1/users/{extension}/allow-block", s.putAllowBlock)

	s.api("GET /api/v1/users/{extension}/explain", s.explain)
	s.api("GET /api/v1/calls", s.listCalls)
	s.voicemailRoutes()
	s.recordingRoutes()
	s.provisioningRoutes()
	if cfg.Provision != nil {
		// Phones fetch their files with HTTP digest of their own: no
		// bearer token.
		s.mux.Handle("GET /provision/{file}", cfg.Provision)
	}
	s.api("GET /api/v1/settings", s.getSettings)
	s.api("PATCH /api/v1/settings", s.updateSettings)

	s.mux.Handle("GET /healthz", s.wrap(s.healthz))
	if cfg.Gatherer != nil {
		s.mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.Gatherer, promhttp.HandlerOpts{
			ErrorLog: promLogger{s.logger},
		}))
	}
	return s
}

// api registers an authenticated route.
func (s *server) api(pattern string, h handlerFunc) {
	s.mux.Handle(pattern, s.wrap(func(w http.ResponseWriter, r *http.Request) error {
		if !s.authorized(r) {
			return Unauthorized()
		}
		return h(w, r)
	}))
}

// wrap adapts a handlerFunc to http.Handler, sending its error to writeError.
func (s *server) wrap(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			writeError(w, r, s.logger, err)
		}
	})
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
	sw.Header().Set("Cache-Control", "no-store")

	switch h, pattern := s.mux.Handler(r); {
	case !isCleanPath(r.URL.EscapedPath()):
		// The mux would redirect to the clean path with an HTML body; an API
		// path is either canonical or not a resource.
		s.serveUnmatched(sw, r, http.NotFoundHandler())
	case pattern == "":
		s.serveUnmatched(sw, r, h)
	default:
		// Sets r.Pattern, the metrics' route label.
		s.mux.ServeHTTP(sw, r)
	}
	s.metrics.observe(r.Method, sw.code, r.Pattern, time.Since(start))
}

// serveUnmatched answers, in JSON, a request no route matches. h is what the
// mux would have done instead: a plain-text 404, or a 405 with its Allow
// header.
func (s *server) serveUnmatched(w *statusWriter, r *http.Request, h http.Handler) {
	if strings.HasPrefix(r.URL.Path, "/api/") && !s.authorized(r) {
		writeError(w, r, s.logger, Unauthorized())
		return
	}
	probe := &headerRecorder{header: make(http.Header)}
	h.ServeHTTP(probe, r)
	if probe.code == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", probe.header.Get("Allow"))
		writeError(w, r, s.logger, &Error{Status: http.StatusMethodNotAllowed, Message: "method not allowed"})
		return
	}
	writeError(w, r, s.logger, NotFound("resource"))
}

// isCleanPath reports whether p is already in the form the mux routes on:
// no empty, "." or ".." segments (a trailing slash is kept).
func isCleanPath(p string) bool {
	clean := path.Clean(p)
	if strings.HasSuffix(p, "/") && clean != "/" {
		clean += "/"
	}
	return p == clean
}

// authorized reports whether r carries a valid "Authorization: Bearer"
// token. The scheme name is case-insensitive (RFC 7235 section 2.1).
func (s *server) authorized(r *http.Request) bool {
	if s.checkToken == nil {
		return false
	}
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	token = strings.TrimSpace(token)
	return token != "" && s.checkToken(token)
}

func (s *server) healthz(w http.ResponseWriter, r *http.Request) error {
	if s.health != nil {
		if err := s.health(r.Context()); err != nil {
			return writeJSON(w, http.StatusServiceUnavailable, map[string]string{
				"status": "unavailable",
				"error":  err.Error(),
			})
		}
	}
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// statusWriter remembers the status of the answer for metrics and for
// writeError.
type statusWriter struct {
	http.ResponseWriter
	code        int
	wroteHeader bool
}

func (w *statusWriter) WriteHeader(code int) {
	// 1xx answers are interim; the final status comes after them.
	if !w.wroteHeader && code >= 200 {
		w.code = code
		w.wroteHeader = true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wroteHeader = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// headerRecorder captures the header and status the mux's own fallback
// handlers write, and drops their plain-text body.
type headerRecorder struct {
	header http.Header
	code   int
}

func (h *headerRecorder) Header() http.Header { return h.header }

func (h *headerRecorder) WriteHeader(code int) {
	if h.code == 0 {
		h.code = code
	}
}

func (h *headerRecorder) Write(b []byte) (int, error) {
	if h.code == 0 {
		h.code = http.StatusOK
	}
	return len(b), nil
}

// promLogger passes promhttp's errors to slog.
type promLogger struct{ logger *slog.Logger }

func (l promLogger) Println(v ...any) {
	l.logger.Error("serve metrics", "error", strings.TrimSuffix(fmt.Sprintln(v...), "\n"))
}
