package admin

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRecordings(t *testing.T) {
	e, fake := newRecordingsEnv(t)
	fake.users["1001"] = &fakeUser{user: User{Extension: "1001"}}
	fake.users["1002"] = &fakeUser{user: User{Extension: "1002"}}
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.FixedZone("EST", -5*3600))
	for i := range 3 {
		fake.add(Recording{ID: int64(i + 1), Extension: "1001", CallerNumber: "1001", CallerName: "Ada",
			Callee: "+14155550100", CallID: fmt.Sprintf("call-%d", i+1), StartedAt: at.Add(time.Duration(i) * time.Minute),
			DurationS: 42, SizeBytes: 44 + 16000}, []byte(fmt.Sprintf("RIFF-%d", i+1)))
	}
	fake.add(Recording{ID: 4, Extension: "1002", StartedAt: at.Add(time.Hour)}, []byte("RIFF-4"))
	ids := func(t *testing.T, res response) []any {
		var out []any
		for _, r := range res.json(t)["recordings"].([]any) {
			out = append(out, r.(map[string]any)["id"])
		}
		return out
	}

	runSteps(t, e, []step{
		{
			name: "one page", method: "GET", path: "/api/v1/recordings?extension=1001&limit=2",
			wantStatus: http.StatusOK,
			wantBody: map[string]any{"next": "2", "recordings": []any{
				map[string]any{"id": 3.0, "extension": "1001", "caller_number": "1001", "caller_name": "Ada",
					"callee": "+14155550100", "call_id": "call-3", "started_at": "2026-03-02T14:02:00Z",
					"duration_s": 42.0, "size_bytes": 16044.0},
				map[string]any{"id": 2.0, "extension": "1001", "caller_number": "1001", "caller_name": "Ada",
					"callee": "+14155550100", "call_id": "call-2", "started_at": "2026-03-02T14:01:00Z",
					"duration_s": 42.0, "size_bytes": 16044.0},
			}},
		},
		{
			name: "next page", method: "GET", path: "/api/v1/recordings?extension=1001&limit=2&after=2",
			wantStatus: http.StatusOK,
			check: func(t *testing.T, res response) {
				require.Equal(t, []any{1.0}, ids(t, res))
				require.Equal(t, "", res.json(t)["next"], "the last page")
			},
		},
		{
			name: "everyone, time window", method: "GET",
			path:       "/api/v1/recordings?from=2026-03-02T14:01:00Z&to=2026-03-02T10:00:00-05:00",
			wantStatus: http.StatusOK,
			check: func(t *testing.T, res response) {
				require.Equal(t, []any{3.0, 2.0}, ids(t, res))
				f := fake.lastFilter
				require.Equal(t, RecordingFilter{From: time.Date(2026, 3, 2, 14, 1, 0, 0, time.UTC), To: f.To, Limit: defaultListLimit}, f)
				require.True(t, f.To.Equal(time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)))
			},
		},
		{
			name: "none", method: "GET", path: "/api/v1/recordings?extension=1002&to=2026-03-01T00:00:00Z",
			wantStatus: http.StatusOK, wantBody: map[string]any{"recordings": []any{}, "next": ""},
		},
		{
			name: "one", method: "GET", path: "/api/v1/recordings/4",
			wantStatus: http.StatusOK,
			check: func(t *testing.T, res response) {
				require.Equal(t, "1002", res.json(t)["extension"])
			},
		},
		{
			name: "delete", method: "DELETE", path: "/api/v1/recordings/3", wantStatus: http.StatusNoContent,
		},
		{
			name: "deleted", method: "GET", path: "/api/v1/recordings/3", wantStatus: http.StatusNotFound,
		},
		{
			name: "delete again", method: "DELETE", path: "/api/v1/recordings/3", wantStatus: http.StatusNotFound,
			wantBody: map[string]any{"error": "recording not found"},
		},
	})

	// The audio is served as WAV, whole.
	res, err := e.srv.Client().Do(e.newRequest(t, "GET", "/api/v1/recordings/2/audio", ""))
	require.NoError(t, err)
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, "audio/wav", res.Header.Get("Content-Type"))
	require.Equal(t, "6", res.Header.Get("Content-Length"))
	require.Equal(t, "RIFF-2", string(body))
	require.Equal(t, http.StatusNotFound, e.do(t, "GET", "/api/v1/recordings/3/audio", "").status)
}

// Bad query values are refused before the backend sees them, naming the
// parameter; what only the backend knows comes back as it said.
func TestRecordingsRefused(t *testing.T) {
	e, fake := newRecordingsEnv(t)
	tests := []struct {
		name       string
		method     string
		path       string
		wantStatus int
		wantField  string
		wantRule   string
		reaches    bool // the backend is asked
	}{
		{name: "extension", path: "/api/v1/recordings?extension=abc", wantStatus: 400, wantField: "extension", wantRule: "format"},
		{name: "from", path: "/api/v1/recordings?from=yesterday", wantStatus: 400, wantField: "from", wantRule: "time"},
		{name: "to", path: "/api/v1/recordings?to=2026-03-02", wantStatus: 400, wantField: "to", wantRule: "time"},
		{name: "to before from", path: "/api/v1/recordings?from=2026-03-02T10:00:00Z&to=2026-03-02T09:00:00Z",
			wantStatus: 400, wantField: "to", wantRule: "range"},
		{name: "limit type", path: "/api/v1/recordings?limit=many", wantStatus: 400, wantField: "limit", wantRule: "type"},
		{name: "limit range", path: "/api/v1/recordings?limit=0", wantStatus: 400, wantField: "limit", wantRule: "range"},
		{name: "limit too big", path: "/api/v1/recordings?limit=1001", wantStatus: 400, wantField: "limit", wantRule: "range"},
		{name: "cursor", path: "/api/v1/recordings?after=xyz", wantStatus: 400, wantField: "after", wantRule: "cursor", reaches: true},
		{name: "unknown user", path: "/api/v1/recordings?extension=1999", wantStatus: 404, reaches: true},
		{name: "id", path: "/api/v1/recordings/abc", wantStatus: 404},
		{name: "audio id", path: "/api/v1/recordings/-1/audio", wantStatus: 404},
		{name: "delete id", method: "DELETE", path: "/api/v1/recordings/0", wantStatus: 404},
		{name: "method", method: "PATCH", path: "/api/v1/recordings/1", wantStatus: 405},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = "GET"
			}
			before := fake.callCount()
			res := e.do(t, method, tc.path, "")
			require.Equal(t, tc.wantStatus, res.status, "body: %s", res.body)
			body := res.json(t)
			if tc.wantField != "" {
				require.Equal(t, tc.wantField, body["field"])
				require.Equal(t, tc.wantRule, body["rule"])
			}
			require.Equal(t, tc.reaches, fake.callCount() > before)
		})
	}

	t.Run("token required", func(t *testing.T) {
		for _, path := range []string{"/api/v1/recordings", "/api/v1/recordings/1/audio"} {
			req := e.newRequest(t, "GET", path, "")
			req.Header.Del("Authorization")
			require.Equal(t, http.StatusUnauthorized, e.send(t, req).status, path)
		}
		req := e.newRequest(t, "DELETE", "/api/v1/recordings/1", "")
		req.Header.Set("Authorization", "Bearer wrong")
		require.Equal(t, http.StatusUnauthorized, e.send(t, req).status)
	})

	t.Run("backend failure", func(t *testing.T) {
		fake.failWith(errors.New("disk on fire"))
		defer fake.failWith(nil)
		res := e.do(t, "GET", "/api/v1/recordings", "")
		require.Equal(t, http.StatusInternalServerError, res.status)
		require.NotContains(t, string(res.body), "disk on fire")
	})
}

// A backend without recordings answers 404 on every recording route.
func TestRecordingsUnavailable(t *testing.T) {
	e := newTestEnv(t)
	for _, p := range []struct{ method, path string }{
		{"GET", "/api/v1/recordings"}, {"GET", "/api/v1/recordings/1/audio"}, {"DELETE", "/api/v1/recordings/1"},
	} {
		res := e.do(t, p.method, p.path, "")
		require.Equal(t, http.StatusNotFound, res.status)
		require.Equal(t, "call recordings are not available", res.json(t)["error"])
	}
}
