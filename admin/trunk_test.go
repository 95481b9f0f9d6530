package admin

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTrunk(t *testing.T) {
	e := newTestEnv(t)
	runSteps(t, e, []step{
		{
			name: "none yet", method: "GET", path: "/api/v1/trunk",
			wantStatus: http.StatusOK,
			wantBody: map[string]any{"host": "", "port": float64(0), "transport": "", "username": "", "has_password": false,
				"register": false, "from_domain": "", "inbound_sources": []any{},
				"registration": map[string]any{"state": "off", "expires_at": nil, "error": "", "next_attempt": nil}},
		},
		{
			name: "put", method: "PUT", path: "/api/v1/trunk",
			body: `{"host": "sip.provider.example", "port": 5060, "transport": "udp", "username": "acct",
				"password": "s3cret-trunk", "register": true, "inbound_sources": ["203.0.113.0/24"]}`,
			wantStatus: http.StatusOK,
			check: func(t *testing.T, res response) {
				require.NotContains(t, string(res.body), "s3cret-trunk", "the password never comes back")
				require.Equal(t, true, res.json(t)["has_password"])
			},
		},
		{
			name: "put without password keeps it", method: "PUT", path: "/api/v1/trunk",
			body:       `{"host": "sip.provider.example", "username": "acct", "register": true}`,
			wantStatus: http.StatusOK,
			check: func(t *testing.T, res response) {
				require.Equal(t, true, res.json(t)["has_password"])
			},
		},
		{
			name: "read-only field", method: "PUT", path: "/api/v1/trunk",
			body:       `{"host": "sip.provider.example", "has_password": false}`,
			wantStatus: http.StatusBadRequest,
			check: func(t *testing.T, res response) {
				require.Equal(t, "has_password", res.json(t)["field"])
			},
		},
		{
			name: "backend validation", method: "PUT", path: "/api/v1/trunk",
			body:       `{"host": "sip.provider.example:5060"}`,
			wantStatus: http.StatusBadRequest,
			check: func(t *testing.T, res response) {
				require.Equal(t, "host", res.json(t)["field"])
			},
		},
	})
}

func TestDeniedPrefixes(t *testing.T) {
	e := newTestEnv(t)
	runSteps(t, e, []step{
		{
			name: "empty", method: "GET", path: "/api/v1/denied-prefixes",
			wantStatus: http.StatusOK, wantBody: map[string]any{"prefixes": []any{}},
		},
		{
			name: "replace", method: "PUT", path: "/api/v1/denied-prefixes",
			body:       `{"prefixes": [{"prefix": "+979", "note": "premium rate"}]}`,
			wantStatus: http.StatusOK,
			wantBody:   map[string]any{"prefixes": []any{map[string]any{"prefix": "+979", "note": "premium rate"}}},
		},
		{
			name: "refused", method: "PUT", path: "/api/v1/denied-prefixes",
			body:       `{"prefixes": [{"prefix": "979"}]}`,
			wantStatus: http.StatusBadRequest,
			check: func(t *testing.T, res response) {
				require.True(t, strings.HasPrefix(res.json(t)["field"].(string), "prefixes["))
			},
		},
	})
}
