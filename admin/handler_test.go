package admin

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestAuth(t *testing.T) {
	tests := []struct {
		name       string
		path       string
		auth       string // Authorization header; "" sends none
		wantStatus int
	}{
		{"api without token", "/api/v1/users", "", http.StatusUnauthorized},
		{"api wrong token", "/api/v1/users", "Bearer nope", http.StatusUnauthorized},
		{"api token prefix", "/api/v1/users", "Bearer " + testToken[:5], http.StatusUnauthorized},
		{"api basic scheme", "/api/v1/users", "Basic " + testToken, http.StatusUnauthorized},
		{"api scheme only", "/api/v1/users", "Bearer", http.StatusUnauthorized},
		{"api right token", "/api/v1/users", "Bearer " + testToken, http.StatusOK},
		{"api scheme in lower case", "/api/v1/users", "bearer " + testToken, http.StatusOK},
		{"registrations without token", "/api/v1/registrations", "", http.StatusUnauthorized},
		{"time frames without token", "/api/v1/time-frames", "", http.StatusUnauthorized},
		{"rules without token", "/api/v1/users/101/answering-rules", "", http.StatusUnauthorized},
		{"allow-block without token", "/api/v1/users/101/allow-block", "", http.StatusUnauthorized},
		{"explain without token", "/api/v1/users/101/explain", "", http.StatusUnauthorized},
		{"time frames with token", "/api/v1/time-frames", "Bearer " + testToken, http.StatusOK},
		{"one user without token", "/api/v1/users/101", "", http.StatusUnauthorized},
		{"bad path without token", "/api/v1/users/x", "", http.StatusUnauthorized},
		{"unknown api path without token", "/api/v1/nothing", "", http.StatusUnauthorized},
		{"unknown api path with token", "/api/v1/nothing", "Bearer " + testToken, http.StatusNotFound},
		{"unclean api path without token", "/api/v1//users", "", http.StatusUnauthorized},
		{"healthz is open", "/healthz", "", http.StatusOK},
		{"healthz ignores a wrong token", "/healthz", "Bearer nope", http.StatusOK},
		{"metrics is open", "/metrics", "", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			req := e.newRequest(t, "GET", tt.path, "")
			req.Header.Del("Authorization")
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			res := e.send(t, req)
			require.Equal(t, tt.wantStatus, res.status, "body: %s", res.body)
			if tt.wantStatus == http.StatusUnauthorized {
				require.Equal(t, "Bearer", res.header.Get("WWW-Authenticate"))
				require.Equal(t, map[string]any{"error": "missing or invalid bearer token"}, res.json(t))
				require.Zero(t, e.backend.callCount())
			}
		})
	}
}

func TestZeroConfig(t *testing.T) {
	// No token checker rejects every token; no gatherer serves no metrics.
	srv := httptest.NewServer(NewHandler(Config{Backend: newFakeBackend()}))
	t.Cleanup(srv.Close)
	e := &testEnv{srv: srv}
	require.Equal(t, http.StatusUnauthorized, e.do(t, "GET", "/api/v1/users", "").status)
	require.Equal(t, http.StatusNotFound, e.do(t, "GET", "/metrics", "").status)
	require.Equal(t, http.StatusOK, e.do(t, "GET", "/healthz", "").status)
}

func TestRequestBodyErrors(t *testing.T) {
	huge := `{"first_name": "` + strings.Repeat("a", 2<<20) + `", "extension": "101"}`
	tests := []struct {
		name        string
		method      string
		path        string
		contentType string // "" keeps application/json; "-" sends none
		body        string
		wantStatus  int
		wantField   string
		wantRule    string
		wantError   string // checked when set
	}{
		{name: "unknown field", method: "POST", path: "/api/v1/users",
			body:       `{"first_name": "Ada", "extension": "101", "nickname": "Countess"}`,
			wantStatus: 400, wantField: "nickname", wantRule: "unknown_field"},
		{name: "unknown field in patch", method: "PATCH", path: "/api/v1/users/101",
			body: `{"favourite_colour": "blue"}`, wantStatus: 400, wantField: "favourite_colour", wantRule: "unknown_field"},
		{name: "read-only field", method: "PATCH", path: "/api/v1/users/101",
			body: `{"has_password": true}`, wantStatus: 400, wantField: "has_password", wantRule: "read_only"},
		{name: "read-only phone field", method: "POST", path: "/api/v1/users/101/phones",
			body: `{"name": "101a", "extension": "102"}`, wantStatus: 400, wantField: "extension", wantRule: "read_only"},
		{name: "string for bool", method: "POST", path: "/api/v1/users",
			body:       `{"first_name": "Ada", "extension": "101", "record_calls": "yes"}`,
			wantStatus: 400, wantField: "record_calls", wantRule: "type"},
		{name: "number for extension", method: "POST", path: "/api/v1/users",
			body: `{"first_name": "Ada", "extension": 101}`, wantStatus: 400, wantField: "extension", wantRule: "type"},
		{name: "string for emails", method: "PATCH", path: "/api/v1/users/101",
			body: `{"emails": "ada@example.com"}`, wantStatus: 400, wantField: "emails", wantRule: "type",
			wantError: "emails must be an array of strings"},
		{name: "number in emails", method: "POST", path: "/api/v1/users",
			body: `{"first_name": "Ada", "extension": "101", "emails": [1]}`, wantStatus: 400, wantField: "emails", wantRule: "type",
			wantError: "emails must be an array of strings"},
		{name: "number in overrides", method: "PATCH", path: "/api/v1/users/101/phones/101a",
			body: `{"overrides": {"lang.gui": 1}}`, wantStatus: 400, wantField: "overrides", wantRule: "type",
			wantError: "overrides must be an object of strings"},
		{name: "array body", method: "POST", path: "/api/v1/users",
			body: `[{"first_name": "Ada"}]`, wantStatus: 400, wantRule: "type"},
		{name: "bad JSON", method: "POST", path: "/api/v1/users",
			body: `{"first_name": "Ada",}`, wantStatus: 400, wantRule: "json"},
		{name: "truncated JSON", method: "PATCH", path: "/api/v1/users/101",
			body: `{"first_name": "Ad`, wantStatus: 400, wantRule: "json"},
		{name: "empty body", method: "POST", path: "/api/v1/users",
			body: ``, wantStatus: 400, wantRule: "json"},
		{name: "second object", method: "POST", path: "/api/v1/users",
			body: `{"first_name": "Ada", "extension": "101"}{"first_name": "Eve"}`, wantStatus: 400, wantRule: "json"},
		{name: "trailing garbage", method: "PATCH", path: "/api/v1/users/101",
			body: `{"site": "Paris"} x`, wantStatus: 400, wantRule: "json"},
		{name: "null in patch", method: "PATCH", path: "/api/v1/users/101",
			body: `{"site": "Paris", "last_name": null}`, wantStatus: 400, wantField: "last_name", wantRule: "not_null"},
		{name: "null on create", method: "POST", path: "/api/v1/users",
			body: `{"first_name": "Ada", "extension": "101", "emails": null}`, wantStatus: 400, wantField: "emails", wantRule: "not_null"},
		{name: "huge body", method: "POST", path: "/api/v1/users",
			body: huge, wantStatus: 413, wantRule: "max_size"},
		{name: "text content type", method: "POST", path: "/api/v1/users", contentType: "text/plain",
			body: `{"first_name": "Ada", "extension": "101"}`, wantStatus: 415, wantRule: "content_type"},
		{name: "form content type", method: "PATCH", path: "/api/v1/users/101", contentType: "application/x-www-form-urlencoded",
			body: `site=Paris`, wantStatus: 415, wantRule: "content_type"},
		{name: "no content type", method: "POST", path: "/api/v1/users/101/phones", contentType: "-",
			body: `{"name": "101a"}`, wantStatus: 415, wantRule: "content_type"},
		{name: "charset is fine", method: "POST", path: "/api/v1/users", contentType: "application/json; charset=utf-8",
			body: `{"first_name": "Ada", "extension": "101"}`, wantStatus: 201},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			req := e.newRequest(t, tt.method, tt.path, tt.body)
			switch tt.contentType {
			case "":
				req.Header.Set("Content-Type", "application/json")
			case "-":
				req.Header.Del("Content-Type")
			default:
				req.Header.Set("Content-Type", tt.contentType)
			}
			res := e.send(t, req)
			require.Equal(t, tt.wantStatus, res.status, "body: %s", res.body)
			if tt.wantStatus < 400 {
				return
			}
			body := res.json(t)
			require.NotEmpty(t, body["error"])
			if tt.wantError != "" {
				require.Equal(t, tt.wantError, body["error"])
			}
			require.Equal(t, tt.wantField, stringOf(body["field"]))
			require.Equal(t, tt.wantRule, stringOf(body["rule"]))
			require.Zero(t, e.backend.callCount(), "a bad request never reaches the backend")
		})
	}
}

func stringOf(v any) string {
	s, _ := v.(string)
	return s
}

func TestBackendErrors(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantBody   map[string]any
	}{
		{"invalid", Invalid("voicemail_pin", "ascending_run", "voicemail_pin must not be a run like 1234"), 400,
			map[string]any{"error": "voicemail_pin must not be a run like 1234", "field": "voicemail_pin", "rule": "ascending_run"}},
		{"invalid wrapped", fmt.Errorf("check user: %w", Invalid("timezone", "iana", "timezone must be an IANA zone name")), 400,
			map[string]any{"error": "timezone must be an IANA zone name", "field": "timezone", "rule": "iana"}},
		{"not found", NotFound("user"), 404, map[string]any{"error": "user not found"}},
		{"conflict", Conflict("mac"), 409, map[string]any{"error": "mac is already in use", "field": "mac", "rule": "unique"}},
		{"unavailable", &Error{Status: 503, Message: "database is busy", Err: errors.New("SQLITE_BUSY on /var/lib/pbx.db")}, 503,
			map[string]any{"error": "database is busy"}},
		{"plain error", errors.New("disk I/O error on /var/lib/pbx.db"), 500, map[string]any{"error": "internal error"}},
		{"error without a status", &Error{Message: "oops, /var/lib/pbx.db"}, 500, map[string]any{"error": "internal error"}},
	}
	requests := []struct{ method, path, body string }{
		{"POST", "/api/v1/users", `{"first_name": "Ada", "extension": "101"}`},
		{"GET", "/api/v1/users", ""},
		{"GET", "/api/v1/users/101", ""},
		{"PATCH", "/api/v1/users/101", `{"site": "Paris"}`},
		{"DELETE", "/api/v1/users/101", ""},
		{"POST", "/api/v1/users/101/phones", `{"name": "101a"}`},
		{"GET", "/api/v1/users/101/phones", ""},
		{"GET", "/api/v1/users/101/phones/101a", ""},
		{"PATCH", "/api/v1/users/101/phones/101a", `{"model": "yealink-t54w"}`},
		{"DELETE", "/api/v1/users/101/phones/101a", ""},
		{"GET", "/api/v1/registrations", ""},
		{"GET", "/api/v1/time-frames", ""},
		{"POST", "/api/v1/time-frames", `{"name": "business", "weekly": [{"days": ["mon"], "start": "09:00", "end": "17:00"}]}`},
		{"GET", "/api/v1/time-frames/business", ""},
		{"PATCH", "/api/v1/time-frames/business", `{"dates": []}`},
		{"DELETE", "/api/v1/time-frames/business", ""},
		{"GET", "/api/v1/users/101/answering-rules", ""},
		{"POST", "/api/v1/users/101/answering-rules", `{"time_frame": "business"}`},
		{"PUT", "/api/v1/users/101/answering-rules/order", `{"ids": [1]}`},
		{"GET", "/api/v1/users/101/answering-rules/1", ""},
		{"PATCH", "/api/v1/users/101/answering-rules/1", `{"forward_busy": null}`},
		{"DELETE", "/api/v1/users/101/answering-rules/1", ""},
		{"GET", "/api/v1/users/101/allow-block", ""},
		{"PUT", "/api/v1/users/101/allow-block", `{"blocked": ["+15550100"]}`},
		{"GET", "/api/v1/users/101/explain", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, rq := range requests {
				e := newTestEnv(t)
				e.backend.failWith(tt.err)
				res := e.do(t, rq.method, rq.path, rq.body)
				require.Equal(t, tt.wantStatus, res.status, "%s %s: %s", rq.method, rq.path, res.body)
				require.Equal(t, tt.wantBody, res.json(t), "%s %s", rq.method, rq.path)
				require.NotContains(t, string(res.body), "pbx.db")

				logs := e.logs.String()
				if tt.wantStatus >= 500 {
					require.Equal(t, 1, strings.Count(logs, "\n"), "logged once: %s", logs)
					require.Contains(t, logs, "pbx.db")
					require.Contains(t, logs, "method="+rq.method)
					require.Contains(t, logs, "path="+rq.path)
				} else {
					require.Empty(t, logs, "client errors are not logged")
				}
			}
		})
	}
}

func TestPathValidation(t *testing.T) {
	tests := []struct {
		name   string
		method string
		path   string
		body   string
		want   string
	}{
		{"extension too short", "GET", "/api/v1/users/1", "", "user not found"},
		{"extension too long", "GET", "/api/v1/users/12345678901", "", "user not found"},
		{"extension with letters", "GET", "/api/v1/users/10a", "", "user not found"},
		{"extension with sign", "DELETE", "/api/v1/users/+101", "", "user not found"},
		{"extension escaped slash", "GET", "/api/v1/users/10%2F1", "", "user not found"},
		{"extension unicode digits", "GET", "/api/v1/users/%D9%A1%D9%A2", "", "user not found"},
		{"patch bad extension", "PATCH", "/api/v1/users/x1", `{"site": "Paris"}`, "user not found"},
		{"phones of bad extension", "GET", "/api/v1/users/1/phones", "", "user not found"},
		{"create phone bad extension", "POST", "/api/v1/users/abc/phones", `{"name": "abc"}`, "user not found"},
		{"phone name with space", "GET", "/api/v1/users/101/phones/101%20a", "", "phone not found"},
		{"phone name too long", "GET", "/api/v1/users/101/phones/" + strings.Repeat("a", 33), "", "phone not found"},
		{"phone name escaped slash", "DELETE", "/api/v1/users/101/phones/a%2Fb", "", "phone not found"},
		{"phone name with colon", "PATCH", "/api/v1/users/101/phones/a:b", `{"model": "x"}`, "phone not found"},
		{"phone of bad extension", "GET", "/api/v1/users/1/phones/101a", "", "user not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			res := e.do(t, tt.method, tt.path, tt.body)
			require.Equal(t, http.StatusNotFound, res.status, "body: %s", res.body)
			require.Equal(t, map[string]any{"error": tt.want}, res.json(t))
			require.Zero(t, e.backend.callCount())
		})
	}
	t.Run("longest valid names reach the backend", func(t *testing.T) {
		e := newTestEnv(t)
		res := e.do(t, "GET", "/api/v1/users/1234567890/phones/"+strings.Repeat("Z", 32), "")
		require.Equal(t, map[string]any{"error": "user not found"}, res.json(t))
		require.Equal(t, 1, e.backend.callCount())
	})
}

func TestUnmatched(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		path       string
		wantStatus int
		wantAllow  string
	}{
		{"unknown path", "GET", "/nothing", http.StatusNotFound, ""},
		{"unknown api version", "GET", "/api/v2/users", http.StatusNotFound, ""},
		{"trailing slash", "GET", "/api/v1/users/", http.StatusNotFound, ""},
		{"double slash", "GET", "/api/v1//users", http.StatusNotFound, ""},
		{"dot dot", "GET", "/api/v1/users/../users", http.StatusNotFound, ""},
		{"dot", "GET", "/healthz/.", http.StatusNotFound, ""},
		{"put on users", "PUT", "/api/v1/users", http.StatusMethodNotAllowed, "GET, HEAD, POST"},
		{"post on one user", "POST", "/api/v1/users/101", http.StatusMethodNotAllowed, "DELETE, GET, HEAD, PATCH"},
		{"post on healthz", "POST", "/healthz", http.StatusMethodNotAllowed, "GET, HEAD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			res := e.do(t, tt.method, tt.path, "")
			require.Equal(t, tt.wantStatus, res.status, "body: %s", res.body)
			require.NotEmpty(t, res.json(t)["error"])
			require.Equal(t, tt.wantAllow, res.header.Get("Allow"))
		})
	}
}

func TestHealthz(t *testing.T) {
	tests := []struct {
		name       string
		health     error
		wantStatus int
		wantBody   map[string]any
	}{
		{"healthy", nil, http.StatusOK, map[string]any{"status": "ok"}},
		{"unhealthy", errors.New("database: disk full"), http.StatusServiceUnavailable,
			map[string]any{"status": "unavailable", "error": "database: disk full"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			e.health = tt.health
			req := e.newRequest(t, "GET", "/healthz", "")
			req.Header.Del("Authorization")
			res := e.send(t, req)
			require.Equal(t, tt.wantStatus, res.status)
			require.Equal(t, tt.wantBody, res.json(t))
		})
	}
}

func TestRegistrations(t *testing.T) {
	expires := time.Date(2025, 3, 1, 10, 30, 0, 0, time.FixedZone("EST", -5*3600))
	regs := []Registration{
		{Phone: "101a", Extension: "101", Contact: "sip:101a@192.0.2.10:5060;transport=udp",
			Source: "192.0.2.10:5060", Transport: "udp", UserAgent: "Yealink SIP-T54W 96.86.0.100", ExpiresAt: expires},
		{Phone: "102a", Extension: "102", Contact: "sip:102a@198.51.100.7:49152;transport=tls",
			Source: "198.51.100.7:49152", Transport: "tls", UserAgent: "Linphone/5.2", ExpiresAt: expires},
	}
	reg101 := map[string]any{
		"phone": "101a", "extension": "101", "contact": "sip:101a@192.0.2.10:5060;transport=udp",
		"source": "192.0.2.10:5060", "transport": "udp", "user_agent": "Yealink SIP-T54W 96.86.0.100",
		"expires_at": "2025-03-01T15:30:00Z",
	}
	tests := []struct {
		name       string
		query      string
		wantStatus int
		wantExt    string
		wantCount  int
	}{
		{"all", "", http.StatusOK, "", 2},
		{"one extension", "?extension=101", http.StatusOK, "101", 1},
		{"extension without registrations", "?extension=555", http.StatusOK, "555", 0},
		{"bad extension", "?extension=abc", http.StatusBadRequest, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			e.backend.regs = regs
			res := e.do(t, "GET", "/api/v1/registrations"+tt.query, "")
			require.Equal(t, tt.wantStatus, res.status, "body: %s", res.body)
			body := res.json(t)
			if tt.wantStatus != http.StatusOK {
				require.Equal(t, "extension", body["field"])
				require.Equal(t, "format", body["rule"])
				require.Zero(t, e.backend.callCount())
				return
			}
			require.Equal(t, tt.wantExt, e.backend.lastRegs)
			got := body["registrations"].([]any)
			require.Len(t, got, tt.wantCount)
			if tt.wantCount > 0 {
				require.Equal(t, reg101, got[0])
			}
		})
	}
}
