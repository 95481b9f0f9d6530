package admin

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const businessJSON = `{"name": "business", "weekly": [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"}]}`

var businessWant = map[string]any{
	"name": "business", "always": false,
	"weekly": []any{map[string]any{
		"days": []any{"mon", "tue", "wed", "thu", "fri"}, "start": "09:00", "end": "17:00",
	}},
	"dates":      []any{},
	"created_at": "2025-03-01T09:30:00Z", "updated_at": "2025-03-01T09:30:00Z",
}

func createAda(t *testing.T, e *testEnv) {
	t.Helper()
	require.Equal(t, http.StatusCreated, e.do(t, "POST", "/api/v1/users", adaJSON).status)
}

func TestTimeFrames(t *testing.T) {
	e := newTestEnv(t)
	createAda(t, e)
	runSteps(t, e, []step{
		{
			name: "only the built-in frame", method: "GET", path: "/api/v1/time-frames",
			wantStatus: http.StatusOK,
			check: func(t *testing.T, res response) {
				frames := res.json(t)["time_frames"].([]any)
				require.Len(t, frames, 1)
				always := frames[0].(map[string]any)
				require.Equal(t, "always", always["name"])
				require.Equal(t, true, always["always"])
				require.Equal(t, []any{}, always["weekly"])
				require.Equal(t, []any{}, always["dates"])
			},
		},
		{
			name: "create", method: "POST", path: "/api/v1/time-frames", body: businessJSON,
			wantStatus: http.StatusCreated, wantBody: businessWant,
			check: func(t *testing.T, res response) {
				require.Equal(t, "/api/v1/time-frames/business", res.header.Get("Location"))
			},
		},
		{
			name: "create with dates and a space", method: "POST", path: "/api/v1/time-frames",
			body:       `{"name": "Xmas closure", "dates": [{"from": "2026-12-24", "to": "2026-12-26"}]}`,
			wantStatus: http.StatusCreated,
			wantBody: map[string]any{
				"name": "Xmas closure", "always": false, "weekly": []any{},
				"dates":      []any{map[string]any{"from": "2026-12-24", "to": "2026-12-26"}},
				"created_at": "2025-03-01T09:30:00Z", "updated_at": "2025-03-01T09:30:00Z",
			},
			check: func(t *testing.T, res response) {
				require.Equal(t, "/api/v1/time-frames/Xmas%20closure", res.header.Get("Location"))
			},
		},
		{
			name: "create taken name", method: "POST", path: "/api/v1/time-frames",
			body:       `{"name": "BUSINESS", "dates": [{"from": "2026-01-01", "to": "2026-01-01"}]}`,
			wantStatus: http.StatusConflict,
			wantBody:   map[string]any{"error": "name is already in use", "field": "name", "rule": "unique"},
		},
		{
			name: "create always is read-only", method: "POST", path: "/api/v1/time-frames",
			body:       `{"name": "night", "always": true}`,
			wantStatus: http.StatusBadRequest,
			wantBody:   map[string]any{"error": "always is read-only", "field": "always", "rule": "read_only"},
		},
		{
			name: "create without entries", method: "POST", path: "/api/v1/time-frames",
			body: `{"name": "empty"}`, wantStatus: http.StatusBadRequest,
			check: func(t *testing.T, res response) {
				require.Equal(t, "weekly", res.json(t)["field"])
				require.Equal(t, "required", res.json(t)["rule"])
			},
		},
		{
			name: "create with an unknown nested field", method: "POST", path: "/api/v1/time-frames",
			body:       `{"name": "odd", "weekly": [{"days": ["mon"], "start": "09:00", "end": "10:00", "tz": "UTC"}]}`,
			wantStatus: http.StatusBadRequest,
			wantBody:   map[string]any{"error": `unknown field "tz"`, "field": "tz", "rule": "unknown_field"},
		},
		{
			name: "get", method: "GET", path: "/api/v1/time-frames/business",
			wantStatus: http.StatusOK, wantBody: businessWant,
		},
		{
			name: "get by escaped name", method: "GET", path: "/api/v1/time-frames/Xmas%20closure",
			wantStatus: http.StatusOK,
		},
		{
			name: "get unknown", method: "GET", path: "/api/v1/time-frames/weekend",
			wantStatus: http.StatusNotFound, wantBody: map[string]any{"error": "time frame not found"},
		},
		{
			name: "patch dates leaves weekly", method: "PATCH", path: "/api/v1/time-frames/business",
			body:       `{"dates": [{"from": "2026-12-24", "to": "2026-12-26"}]}`,
			wantStatus: http.StatusOK,
			wantBody: with(businessWant,
				"dates", []any{map[string]any{"from": "2026-12-24", "to": "2026-12-26"}},
				"updated_at", "2025-03-01T09:31:00Z"),
		},
		{
			name: "patch null", method: "PATCH", path: "/api/v1/time-frames/business",
			body:       `{"dates": null}`,
			wantStatus: http.StatusBadRequest,
			wantBody:   map[string]any{"error": "dates must not be null", "field": "dates", "rule": "not_null"},
		},
		{
			name: "patch the built-in frame", method: "PATCH", path: "/api/v1/time-frames/always",
			body: `{"dates": []}`, wantStatus: http.StatusBadRequest,
			check: func(t *testing.T, res response) {
				require.Equal(t, "builtin", res.json(t)["rule"])
			},
		},
		{
			name: "a rule uses it", method: "POST", path: "/api/v1/users/101/answering-rules",
			body: `{"time_frame": "business"}`, wantStatus: http.StatusCreated,
		},
		{
			name: "delete in use", method: "DELETE", path: "/api/v1/time-frames/business",
			wantStatus: http.StatusConflict,
			wantBody: map[string]any{
				"error": "the time frame is used by answering rules", "field": "time_frame", "rule": "in_use",
			},
		},
		{
			name: "delete the built-in frame", method: "DELETE", path: "/api/v1/time-frames/always",
			wantStatus: http.StatusBadRequest,
			check: func(t *testing.T, res response) {
				require.Equal(t, "name", res.json(t)["field"])
				require.Equal(t, "builtin", res.json(t)["rule"])
			},
		},
		{
			name: "delete the rule", method: "DELETE", path: "/api/v1/users/101/answering-rules/2",
			wantStatus: http.StatusNoContent,
		},
		{
			name: "delete unused", method: "DELETE", path: "/api/v1/time-frames/business",
			wantStatus: http.StatusNoContent,
		},
		{
			name: "gone", method: "GET", path: "/api/v1/time-frames/business",
			wantStatus: http.StatusNotFound,
		},
	})
}

func TestTimeFramePathNotFound(t *testing.T) {
	// Names no time frame can have answer 404 without the backend.
	for _, p := range []string{
		"/api/v1/time-frames/a%2Fb", "/api/v1/time-frames/%20lead", "/api/v1/time-frames/semi;colon",
		"/api/v1/time-frames/" + strings.Repeat("x", 65),
	} {
		e := newTestEnv(t)
		res := e.do(t, "GET", p, "")
		require.Equal(t, http.StatusNotFound, res.status, "%s: %s", p, res.body)
		require.Zero(t, e.backend.callCount(), p)
	}
}

// ruleJSON sets every field of a rule.
const ruleJSON = `{
	"time_frame": "business",
	"dnd": false,
	"screening": true,
	"ring_for_s": 20,
	"forward_always": null,
	"forward_busy": {"kind": "voicemail", "to": "101"},
	"forward_unanswered": {"kind": "user", "to": "102"},
	"forward_offline": {"kind": "external", "to": "+15550100"},
	"simring": {"include_user": true, "ring_all_phones": false,
		"destinations": [{"kind": "external", "to": "+15550199", "delay_s": 5, "confirm": true}]}
}`

var ruleWant = map[string]any{
	"id": float64(2), "position": float64(0), "is_default": false,
	"time_frame": "business", "enabled": true, "dnd": false, "screening": true, "ring_for_s": float64(20),
	"forward_always":     nil,
	"forward_busy":       map[string]any{"kind": "voicemail", "to": "101"},
	"forward_unanswered": map[string]any{"kind": "user", "to": "102"},
	"forward_offline":    map[string]any{"kind": "external", "to": "+15550100"},
	"simring": map[string]any{"include_user": true, "ring_all_phones": false,
		"destinations": []any{map[string]any{"kind": "external", "to": "+15550199", "delay_s": float64(5), "confirm": true}}},
	"created_at": "2025-03-01T09:30:00Z", "updated_at": "2025-03-01T09:30:00Z",
}

var defaultRuleWant = map[string]any{
	"id": float64(1), "position": float64(1), "is_default": true,
	"time_frame": "always", "enabled": true, "dnd": false, "screening": false, "ring_for_s": float64(0),
	"forward_always": nil, "forward_busy": nil, "forward_unanswered": nil, "forward_offline": nil,
	"simring":    nil,
	"created_at": "2025-03-01T09:30:00Z", "updated_at": "2025-03-01T09:30:00Z",
}

func newRulesEnv(t *testing.T) *testEnv {
	t.Helper()
	e := newTestEnv(t)
	createAda(t, e)
	require.Equal(t, http.StatusCreated, e.do(t, "POST", "/api/v1/time-frames", businessJSON).status)
	return e
}

func TestAnsweringRules(t *testing.T) {
	e := newRulesEnv(t)
	runSteps(t, e, []step{
		{
			name: "a new user has the default rule", method: "GET", path: "/api/v1/users/101/answering-rules",
			wantStatus: http.StatusOK,
			wantBody:   map[string]any{"answering_rules": []any{with(defaultRuleWant, "position", float64(0))}},
		},
		{
			name: "create", method: "POST", path: "/api/v1/users/101/answering-rules", body: ruleJSON,
			wantStatus: http.StatusCreated, wantBody: ruleWant,
			check: func(t *testing.T, res response) {
				require.Equal(t, "/api/v1/users/101/answering-rules/2", res.header.Get("Location"))
			},
		},
		{
			name: "create with defaults", method: "POST", path: "/api/v1/users/101/answering-rules",
			body: `{"time_frame": "business"}`, wantStatus: http.StatusCreated,
			check: func(t *testing.T, res response) {
				body := res.json(t)
				require.Equal(t, true, body["enabled"], "enabled by default")
				require.Nil(t, body["simring"])
				require.Equal(t, float64(1), body["position"])
			},
		},
		{
			name: "list in order", method: "GET", path: "/api/v1/users/101/answering-rules",
			wantStatus: http.StatusOK,
			check: func(t *testing.T, res response) {
				rules := res.json(t)["answering_rules"].([]any)
				require.Len(t, rules, 3)
				require.Equal(t, ruleWant, rules[0])
				require.Equal(t, float64(3), rules[1].(map[string]any)["id"])
				require.Equal(t, with(defaultRuleWant, "position", float64(2)), rules[2])
			},
		},
		{
			name: "get", method: "GET", path: "/api/v1/users/101/answering-rules/2",
			wantStatus: http.StatusOK, wantBody: ruleWant,
		},
		{
			name: "get unknown rule", method: "GET", path: "/api/v1/users/101/answering-rules/99",
			wantStatus: http.StatusNotFound, wantBody: map[string]any{"error": "answering rule not found"},
		},
		{
			name: "get rule of unknown user", method: "GET", path: "/api/v1/users/555/answering-rules/2",
			wantStatus: http.StatusNotFound, wantBody: map[string]any{"error": "user not found"},
		},
		{
			name: "reorder", method: "PUT", path: "/api/v1/users/101/answering-rules/order",
			body: `{"ids": [3, 1, 2]}`, wantStatus: http.StatusOK,
			check: func(t *testing.T, res response) {
				rules := res.json(t)["answering_rules"].([]any)
				var ids, positions []float64
				for _, r := range rules {
					ids = append(ids, r.(map[string]any)["id"].(float64))
					positions = append(positions, r.(map[string]any)["position"].(float64))
				}
				require.Equal(t, []float64{3, 1, 2}, ids)
				require.Equal(t, []float64{0, 1, 2}, positions)
			},
		},
		{
			name: "reorder leaving one out", method: "PUT", path: "/api/v1/users/101/answering-rules/order",
			body: `{"ids": [3, 1]}`, wantStatus: http.StatusBadRequest,
			check: func(t *testing.T, res response) {
				require.Equal(t, "ids", res.json(t)["field"])
				require.Equal(t, "permutation", res.json(t)["rule"])
			},
		},
		{
			name: "delete the default rule", method: "DELETE", path: "/api/v1/users/101/answering-rules/1",
			wantStatus: http.StatusBadRequest,
			check: func(t *testing.T, res response) {
				require.Equal(t, "default_rule", res.json(t)["rule"])
			},
		},
		{
			name: "move the default rule off always", method: "PATCH", path: "/api/v1/users/101/answering-rules/1",
			body: `{"time_frame": "business"}`, wantStatus: http.StatusBadRequest,
			check: func(t *testing.T, res response) {
				require.Equal(t, "time_frame", res.json(t)["field"])
				require.Equal(t, "default_rule", res.json(t)["rule"])
			},
		},
		{
			name: "delete", method: "DELETE", path: "/api/v1/users/101/answering-rules/3",
			wantStatus: http.StatusNoContent,
		},
		{
			name: "delete again", method: "DELETE", path: "/api/v1/users/101/answering-rules/3",
			wantStatus: http.StatusNotFound, wantBody: map[string]any{"error": "answering rule not found"},
		},
		{
			name: "list after delete", method: "GET", path: "/api/v1/users/101/answering-rules",
			wantStatus: http.StatusOK,
			check: func(t *testing.T, res response) {
				rules := res.json(t)["answering_rules"].([]any)
				require.Len(t, rules, 2)
				require.Equal(t, float64(1), rules[0].(map[string]any)["id"])
				require.Equal(t, float64(0), rules[0].(map[string]any)["position"])
			},
		},
		{
			name: "list of unknown user", method: "GET", path: "/api/v1/users/555/answering-rules",
			wantStatus: http.StatusNotFound, wantBody: map[string]any{"error": "user not found"},
		},
	})
}

func TestAnsweringRuleBadRequests(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		wantStatus int
		wantField  string
		wantRule   string
		reaches    bool // the backend is asked
	}{
		{name: "id is read-only", method: "POST", path: "/api/v1/users/101/answering-rules",
			body: `{"time_frame": "business", "id": 7}`, wantStatus: 400, wantField: "id", wantRule: "read_only"},
		{name: "position is read-only", method: "PATCH", path: "/api/v1/users/101/answering-rules/1",
			body: `{"position": 0}`, wantStatus: 400, wantField: "position", wantRule: "read_only"},
		{name: "is_default is read-only", method: "PATCH", path: "/api/v1/users/101/answering-rules/1",
			body: `{"is_default": false}`, wantStatus: 400, wantField: "is_default", wantRule: "read_only"},
		{name: "null time frame", method: "POST", path: "/api/v1/users/101/answering-rules",
			body: `{"time_frame": null}`, wantStatus: 400, wantField: "time_frame", wantRule: "not_null"},
		{name: "null enabled in patch", method: "PATCH", path: "/api/v1/users/101/answering-rules/1",
			body: `{"enabled": null}`, wantStatus: 400, wantField: "enabled", wantRule: "not_null"},
		{name: "unknown field in a forward", method: "POST", path: "/api/v1/users/101/answering-rules",
			body:       `{"time_frame": "business", "forward_busy": {"kind": "user", "to": "102", "via": "x"}}`,
			wantStatus: 400, wantField: "via", wantRule: "unknown_field"},
		{name: "unknown field in a patched forward", method: "PATCH", path: "/api/v1/users/101/answering-rules/1",
			body:       `{"forward_busy": {"kind": "user", "to": "102", "via": "x"}}`,
			wantStatus: 400, wantField: "via", wantRule: "unknown_field"},
		{name: "string for a forward", method: "PATCH", path: "/api/v1/users/101/answering-rules/1",
			body: `{"forward_busy": "102"}`, wantStatus: 400, wantField: "forward_busy", wantRule: "type"},
		{name: "string for ring time", method: "POST", path: "/api/v1/users/101/answering-rules",
			body: `{"time_frame": "business", "ring_for_s": "20"}`, wantStatus: 400, wantField: "ring_for_s", wantRule: "type"},
		{name: "null ids", method: "PUT", path: "/api/v1/users/101/answering-rules/order",
			body: `{"ids": null}`, wantStatus: 400, wantField: "ids", wantRule: "not_null"},
		{name: "no ids", method: "PUT", path: "/api/v1/users/101/answering-rules/order",
			body: `{}`, wantStatus: 400, wantField: "ids", wantRule: "required"},
		{name: "string ids", method: "PUT", path: "/api/v1/users/101/answering-rules/order",
			body: `{"ids": ["1"]}`, wantStatus: 400, wantField: "ids", wantRule: "type"},
		{name: "id not a number", method: "GET", path: "/api/v1/users/101/answering-rules/abc", wantStatus: 404},
		{name: "id zero", method: "DELETE", path: "/api/v1/users/101/answering-rules/0", wantStatus: 404},
		{name: "unknown time frame", method: "POST", path: "/api/v1/users/101/answering-rules",
			body: `{"time_frame": "weekend"}`, wantStatus: 400, wantField: "time_frame", wantRule: "exists", reaches: true},
		{name: "unknown forward kind", method: "POST", path: "/api/v1/users/101/answering-rules",
			body:       `{"time_frame": "business", "forward_always": {"kind": "queue", "to": "5"}}`,
			wantStatus: 400, wantField: "forward_always", wantRule: "enum", reaches: true},
		{name: "put on a rule", method: "PUT", path: "/api/v1/users/101/answering-rules/1",
			body: `{}`, wantStatus: 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newRulesEnv(t)
			before := e.backend.callCount()
			res := e.do(t, tt.method, tt.path, tt.body)
			require.Equal(t, tt.wantStatus, res.status, "body: %s", res.body)
			body := res.json(t)
			require.Equal(t, tt.wantField, stringOf(body["field"]), "body: %s", res.body)
			require.Equal(t, tt.wantRule, stringOf(body["rule"]), "body: %s", res.body)
			if !tt.reaches {
				require.Equal(t, before, e.backend.callCount(), "a bad request never reaches the backend")
			}
		})
	}
}

// In a PATCH, an absent forward or simring stays, null clears it and a
// value replaces it.
func TestPatchAnsweringRuleAbsentOrNull(t *testing.T) {
	tests := []struct {
		name  string
		patch string
		want  map[string]any
		set   []string // the Optional members the backend saw as present
	}{
		{"empty object", `{}`, ruleWant, nil},
		{"a bool leaves the forwards", `{"dnd": true}`, with(ruleWant, "dnd", true), nil},
		{"null clears one forward", `{"forward_busy": null}`, with(ruleWant, "forward_busy", nil), []string{"forward_busy"}},
		{"null clears the simring", `{"simring": null}`, with(ruleWant, "simring", nil), []string{"simring"}},
		{"null on an unset forward", `{"forward_always": null}`, ruleWant, []string{"forward_always"}},
		{"a value replaces", `{"forward_always": {"kind": "handset", "to": "101b"}}`,
			with(ruleWant, "forward_always", map[string]any{"kind": "handset", "to": "101b"}), []string{"forward_always"}},
		{"several at once", `{"forward_unanswered": null, "forward_offline": {"kind": "voicemail", "to": "101"}, "ring_for_s": 30}`,
			with(ruleWant, "forward_unanswered", nil, "forward_offline", map[string]any{"kind": "voicemail", "to": "101"},
				"ring_for_s", float64(30)),
			[]string{"forward_unanswered", "forward_offline"}},
		{"simring without destinations", `{"simring": {"ring_all_phones": true}}`,
			with(ruleWant, "simring", map[string]any{"include_user": false, "ring_all_phones": true, "destinations": []any{}}),
			[]string{"simring"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newRulesEnv(t)
			require.Equal(t, http.StatusCreated, e.do(t, "POST", "/api/v1/users/101/answering-rules", ruleJSON).status)

			res := e.do(t, "PATCH", "/api/v1/users/101/answering-rules/2", tt.patch)
			require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
			want := with(tt.want, "updated_at", "2025-03-01T09:31:00Z")
			require.Equal(t, want, res.json(t))
			require.Equal(t, want, e.do(t, "GET", "/api/v1/users/101/answering-rules/2", "").json(t))

			p := e.backend.lastPatch
			present := map[string]bool{
				"forward_always": p.ForwardAlways.Set, "forward_busy": p.ForwardBusy.Set,
				"forward_unanswered": p.ForwardUnanswered.Set, "forward_offline": p.ForwardOffline.Set,
				"simring": p.SimRing.Set,
			}
			for name, set := range present {
				require.Equal(t, contains(tt.set, name), set, name)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestAllowBlock(t *testing.T) {
	e := newTestEnv(t)
	createAda(t, e)
	runSteps(t, e, []step{
		{
			name: "never set", method: "GET", path: "/api/v1/users/101/allow-block",
			wantStatus: http.StatusOK,
			wantBody:   map[string]any{"allowed": []any{}, "blocked": []any{}, "block_anonymous": false},
		},
		{
			name: "put", method: "PUT", path: "/api/v1/users/101/allow-block",
			body:       `{"allowed": ["+15550100"], "blocked": ["+15550666", "+15550667"], "block_anonymous": true}`,
			wantStatus: http.StatusOK,
			wantBody: map[string]any{"allowed": []any{"+15550100"}, "blocked": []any{"+15550666", "+15550667"},
				"block_anonymous": true},
		},
		{
			name: "get", method: "GET", path: "/api/v1/users/101/allow-block",
			wantStatus: http.StatusOK,
			wantBody: map[string]any{"allowed": []any{"+15550100"}, "blocked": []any{"+15550666", "+15550667"},
				"block_anonymous": true},
		},
		{
			name: "put replaces the whole", method: "PUT", path: "/api/v1/users/101/allow-block",
			body:       `{"blocked": ["+15550666"]}`,
			wantStatus: http.StatusOK,
			wantBody:   map[string]any{"allowed": []any{}, "blocked": []any{"+15550666"}, "block_anonymous": false},
		},
		{
			name: "both allowed and blocked", method: "PUT", path: "/api/v1/users/101/allow-block",
			body:       `{"allowed": ["+15550666"], "blocked": ["+15550666"]}`,
			wantStatus: http.StatusBadRequest,
			check: func(t *testing.T, res response) {
				require.Equal(t, "blocked", res.json(t)["field"])
				require.Equal(t, "both", res.json(t)["rule"])
			},
		},
		{
			name: "null list", method: "PUT", path: "/api/v1/users/101/allow-block",
			body:       `{"allowed": null}`,
			wantStatus: http.StatusBadRequest,
			wantBody:   map[string]any{"error": "allowed must not be null", "field": "allowed", "rule": "not_null"},
		},
		{
			name: "unknown field", method: "PUT", path: "/api/v1/users/101/allow-block",
			body:       `{"whitelist": []}`,
			wantStatus: http.StatusBadRequest,
			wantBody:   map[string]any{"error": `unknown field "whitelist"`, "field": "whitelist", "rule": "unknown_field"},
		},
		{
			name: "unknown user", method: "GET", path: "/api/v1/users/555/allow-block",
			wantStatus: http.StatusNotFound, wantBody: map[string]any{"error": "user not found"},
		},
	})
}

func TestExplain(t *testing.T) {
	one := 1
	plan := Explanation{
		Caller: ExplainCaller{Number: "+15550100"},
		Action: "ring",
		Rule:   &ExplainRule{ID: 2, Index: 0, TimeFrame: "business"},
		Stages: []ExplainStage{
			{TimeoutS: 25, OnNoAnswer: &one, OnBusy: &one,
				Targets: []ExplainTarget{{Kind: "phones", To: "101"}, {Kind: "external", To: "+15550199", DelayS: 5, Confirm: true}}},
			{OnNoAnswer: nil, OnBusy: nil, Targets: []ExplainTarget{{Kind: "voicemail", To: "101"}}},
		},
		Explanation: []string{"rule 2 (time frame business) is active"},
	}
	wantPlan := map[string]any{
		"extension": "101", "at": "2026-03-03T10:00:00-05:00",
		"caller": map[string]any{"number": "+15550100", "name": "", "extension": "", "internal": false, "anonymous": false},
		"action": "ring", "code": float64(0), "reason": "",
		"rule":      map[string]any{"id": float64(2), "index": float64(0), "time_frame": "business"},
		"screening": false,
		"stages": []any{
			map[string]any{"timeout_s": float64(25), "on_no_answer": float64(1), "on_busy": float64(1), "targets": []any{
				map[string]any{"kind": "phones", "to": "101", "delay_s": float64(0), "confirm": false},
				map[string]any{"kind": "external", "to": "+15550199", "delay_s": float64(5), "confirm": true},
			}},
			map[string]any{"timeout_s": float64(0), "on_no_answer": nil, "on_busy": nil, "targets": []any{
				map[string]any{"kind": "voicemail", "to": "101", "delay_s": float64(0), "confirm": false},
			}},
		},
		"explanation": []any{"rule 2 (time frame business) is active"},
	}
	reject := Explanation{Action: "reject", Code: 486, Reason: "Busy Here", Caller: ExplainCaller{Anonymous: true}}

	tests := []struct {
		name       string
		query      string
		answer     Explanation
		wantStatus int
		wantBody   map[string]any // compared whole when set
		wantField  string
		wantFrom   string
		wantAt     time.Time
	}{
		{name: "number and time", query: "?from=%2B15550100&at=2026-03-03T10:00:00-05:00", answer: plan,
			wantStatus: 200, wantBody: wantPlan, wantFrom: "+15550100",
			wantAt: time.Date(2026, 3, 3, 15, 0, 0, 0, time.UTC)},
		{name: "anonymous now", answer: reject, wantStatus: 200,
			wantBody: map[string]any{
				"extension": "101", "at": "2025-03-01T09:30:00Z",
				"caller": map[string]any{"number": "", "name": "", "extension": "", "internal": false, "anonymous": true},
				"action": "reject", "code": float64(486), "reason": "Busy Here", "rule": nil, "screening": false,
				"stages": []any{}, "explanation": []any{},
			},
			wantAt: time.Date(2025, 3, 1, 9, 30, 0, 0, time.UTC)},
		{name: "an extension", query: "?from=102", answer: plan, wantStatus: 200, wantFrom: "102",
			wantAt: time.Date(2025, 3, 1, 9, 30, 0, 0, time.UTC)},
		{name: "unescaped plus", query: "?from=+15550100", wantStatus: 400, wantField: "from"},
		{name: "letters", query: "?from=alice", wantStatus: 400, wantField: "from"},
		{name: "too long", query: "?from=123456789012345678901234567890123", wantStatus: 400, wantField: "from"},
		{name: "bad time", query: "?at=tuesday", wantStatus: 400, wantField: "at"},
		{name: "time without zone", query: "?at=2026-03-03T10:00:00", wantStatus: 400, wantField: "at"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			createAda(t, e)
			e.backend.explanation = tt.answer
			before := e.backend.callCount()
			res := e.do(t, "GET", "/api/v1/users/101/explain"+tt.query, "")
			require.Equal(t, tt.wantStatus, res.status, "body: %s", res.body)
			if tt.wantStatus != http.StatusOK {
				require.Equal(t, tt.wantField, res.json(t)["field"])
				require.Equal(t, "format", res.json(t)["rule"])
				require.Equal(t, before, e.backend.callCount())
				return
			}
			if tt.wantBody != nil {
				require.Equal(t, tt.wantBody, res.json(t))
			}
			require.Equal(t, tt.wantFrom, e.backend.lastExplain.From)
			require.True(t, tt.wantAt.Equal(e.backend.lastExplain.At), "at %s", e.backend.lastExplain.At)
		})
	}

	t.Run("unknown user", func(t *testing.T) {
		e := newTestEnv(t)
		res := e.do(t, "GET", "/api/v1/users/555/explain", "")
		require.Equal(t, http.StatusNotFound, res.status)
		require.Equal(t, map[string]any{"error": "user not found"}, res.json(t))
	})
}
