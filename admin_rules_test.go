package switchboard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const rulesTestToken = "rules-test-token"

// rulesAPI is a running engine on a fresh database, driven through its
// admin API over real HTTP.
type rulesAPI struct {
	base   string
	client *http.Client
}

func startRulesEngine(t *testing.T) *rulesAPI {
	t.Helper()
	dir := t.TempDir()
	cfg := Config{
		DBPath: filepath.Join(dir, "sb.db"), DataDir: filepath.Join(dir, "data"),
		SIPAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", Domain: "127.0.0.1", AdminToken: rulesTestToken,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Out: io.Discard,
	}
	var (
		e   *Engine
		err error
	)
	for range 5 {
		// Port 0 takes a free UDP port, then TCP on the same number,
		// which another socket may hold.
		if e, err = New(context.Background(), cfg); !errors.Is(err, syscall.EADDRINUSE) {
			break
		}
	}
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	api := &rulesAPI{base: "http://" + e.HTTPAddr().String(), client: &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}}
	t.Cleanup(func() {
		api.client.CloseIdleConnections()
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(15 * time.Second):
			t.Error("engine did not stop")
		}
	})
	return api
}

// do sends body (marshalled unless nil) and returns the status and the
// decoded answer, nil for 204.
func (a *rulesAPI) do(t *testing.T, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.base+path, rd)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+rulesTestToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := a.client.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	if res.StatusCode == http.StatusNoContent {
		return res.StatusCode, nil
	}
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m), "%s %s: %s", method, path, raw)
	return res.StatusCode, m
}

// must sends a request that has to answer want.
func (a *rulesAPI) must(t *testing.T, want int, method, path string, body any) map[string]any {
	t.Helper()
	code, m := a.do(t, method, path, body)
	require.Equal(t, want, code, "%s %s: %v", method, path, m)
	return m
}

// explainStage is a stage of an explanation, decoded.
type explainStage struct {
	TimeoutS   int  `json:"timeout_s"`
	OnNoAnswer *int `json:"on_no_answer"`
	OnBusy     *int `json:"on_busy"`
	Targets    []struct {
		Kind    string `json:"kind"`
		To      string `json:"to"`
		DelayS  int    `json:"delay_s"`
		Confirm bool   `json:"confirm"`
	} `json:"targets"`
}

type explained struct {
	Extension string `json:"extension"`
	At        string `json:"at"`
	Caller    struct {
		Number    string `json:"number"`
		Extension string `json:"extension"`
		Internal  bool   `json:"internal"`
		Anonymous bool   `json:"anonymous"`
	} `json:"caller"`
	Action string `json:"action"`
	Code   int    `json:"code"`
	Reason string `json:"reason"`
	Rule   *struct {
		ID        int64  `json:"id"`
		Index     int    `json:"index"`
		TimeFrame string `json:"time_frame"`
	} `json:"rule"`
	Stages      []explainStage `json:"stages"`
	Explanation []string       `json:"explanation"`
}

func (a *rulesAPI) explain(t *testing.T, ext, query string) explained {
	t.Helper()
	m := a.must(t, http.StatusOK, "GET", "/api/v1/users/"+ext+"/explain"+query, nil)
	b, err := json.Marshal(m)
	require.NoError(t, err)
	var ex explained
	require.NoError(t, json.Unmarshal(b, &ex))
	return ex
}

// targets lists a stage's targets as "kind to".
func (s explainStage) targets() []string {
	out := make([]string, len(s.Targets))
	for i, t := range s.Targets {
		out[i] = t.Kind + " " + t.To
	}
	return out
}

func mentions(lines []string, sub string) bool {
	for _, l := range lines {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}

const (
	tuesday10NY  = "2026-03-03T10:00:00-05:00" // a Tuesday, before the DST change of March 8
	tuesday10UTC = "2026-03-03T10:00:00Z"      // 05:00 in New York: outside business hours
	saturday10NY = "2026-03-07T10:00:00-05:00"
)

func at(s string) string { return "?at=" + strings.ReplaceAll(s, "+", "%2B") }

// The explain endpoint answers from the stored rules, time frames and
// lists, read in the user's time zone, and follows every change at once.
func TestExplainThroughTheAPI(t *testing.T) {
	api := startRulesEngine(t)

	user := api.must(t, http.StatusCreated, "POST", "/api/v1/users", map[string]any{
		"first_name": "Ada", "extension": "3001", "timezone": "America/New_York",
	})
	require.Equal(t, float64(2), user["call_paths"], "the store's default")
	api.must(t, http.StatusCreated, "POST", "/api/v1/users", map[string]any{"first_name": "Bob", "extension": "3002"})

	api.must(t, http.StatusCreated, "POST", "/api/v1/time-frames", map[string]any{
		"name":   "business",
		"weekly": []any{map[string]any{"days": []string{"mon", "tue", "wed", "thu", "fri"}, "start": "09:00", "end": "17:00"}},
	})
	rule := api.must(t, http.StatusCreated, "POST", "/api/v1/users/3001/answering-rules", map[string]any{
		"time_frame":     "business",
		"forward_always": map[string]any{"kind": "voicemail", "to": "3001"},
	})
	ruleID := int64(rule["id"].(float64))
	require.Equal(t, float64(0), rule["position"])
	require.Equal(t, true, rule["enabled"])

	rules := api.must(t, http.StatusOK, "GET", "/api/v1/users/3001/answering-rules", nil)["answering_rules"].([]any)
	require.Len(t, rules, 2)
	defaultRule := rules[1].(map[string]any)
	require.Equal(t, true, defaultRule["is_default"])
	defaultID := int64(defaultRule["id"].(float64))

	t.Run("business hours forward to voicemail", func(t *testing.T) {
		ex := api.explain(t, "3001", at(tuesday10NY)+"&from=%2B15550100")
		require.Equal(t, "ring", ex.Action)
		require.NotNil(t, ex.Rule)
		require.Equal(t, ruleID, ex.Rule.ID)
		require.Equal(t, 0, ex.Rule.Index)
		require.Equal(t, "business", ex.Rule.TimeFrame)
		require.Len(t, ex.Stages, 1)
		require.Equal(t, []string{"voicemail 3001"}, ex.Stages[0].targets())
		require.Equal(t, "+15550100", ex.Caller.Number)
		require.Equal(t, tuesday10NY, ex.At, "answered on the user's wall clock")
	})

	t.Run("the same instant in UTC", func(t *testing.T) {
		ex := api.explain(t, "3001", at("2026-03-03T15:00:00Z"))
		require.Equal(t, ruleID, ex.Rule.ID)
	})

	for _, when := range []string{saturday10NY, tuesday10UTC} {
		t.Run("outside business hours "+when, func(t *testing.T) {
			ex := api.explain(t, "3001", at(when))
			require.Equal(t, "ring", ex.Action)
			require.NotNil(t, ex.Rule)
			require.Equal(t, defaultID, ex.Rule.ID)
			require.Equal(t, 1, ex.Rule.Index)
			require.Equal(t, "always", ex.Rule.TimeFrame)
			// No phone is registered: offline, to voicemail.
			require.Len(t, ex.Stages, 1)
			require.Equal(t, []string{"voicemail 3001"}, ex.Stages[0].targets())
			require.True(t, mentions(ex.Explanation, "offline"), "%q", ex.Explanation)
			require.True(t, ex.Caller.Anonymous)
		})
	}

	t.Run("do not disturb", func(t *testing.T) {
		// null clears the forward; the change applies to the next
		// decision.
		patched := api.must(t, http.StatusOK, "PATCH", "/api/v1/users/3001/answering-rules/"+itoa(ruleID),
			map[string]any{"forward_always": nil, "dnd": true})
		require.Nil(t, patched["forward_always"])
		ex := api.explain(t, "3001", at(tuesday10NY)+"&from=3002")
		require.Equal(t, ruleID, ex.Rule.ID)
		require.Len(t, ex.Stages, 1)
		require.Equal(t, []string{"voicemail 3001"}, ex.Stages[0].targets(), "no phone rings")
		require.True(t, mentions(ex.Explanation, "do not disturb"), "%q", ex.Explanation)
		require.True(t, ex.Caller.Internal)
		require.Equal(t, "3002", ex.Caller.Extension)
	})

	t.Run("blocked number", func(t *testing.T) {
		api.must(t, http.StatusOK, "PUT", "/api/v1/users/3001/allow-block", map[string]any{
			"blocked": []string{"+15550666"},
		})
		ex := api.explain(t, "3001", at(tuesday10NY)+"&from=%2B15550666")
		require.Equal(t, "reject", ex.Action)
		require.Equal(t, 486, ex.Code)
		require.Empty(t, ex.Stages)

		ex = api.explain(t, "3001", at(tuesday10NY)+"&from=%2B15550100")
		require.Equal(t, "ring", ex.Action, "another number still gets through")
	})

	t.Run("anonymous blocked", func(t *testing.T) {
		api.must(t, http.StatusOK, "PUT", "/api/v1/users/3001/allow-block", map[string]any{"block_anonymous": true})
		ex := api.explain(t, "3001", at(saturday10NY))
		require.Equal(t, "reject", ex.Action)
		require.Equal(t, 403, ex.Code)
	})

	t.Run("unknown extension", func(t *testing.T) {
		code, body := api.do(t, "GET", "/api/v1/users/3999/explain", nil)
		require.Equal(t, http.StatusNotFound, code)
		require.Equal(t, map[string]any{"error": "user not found"}, body)
	})

	t.Run("time frames in use stay", func(t *testing.T) {
		code, body := api.do(t, "DELETE", "/api/v1/time-frames/business", nil)
		require.Equal(t, http.StatusConflict, code)
		require.Equal(t, "time_frame", body["field"])
		code, body = api.do(t, "DELETE", "/api/v1/time-frames/always", nil)
		require.Equal(t, http.StatusBadRequest, code)
		require.Equal(t, "builtin", body["rule"])
	})
}

// Every endpoint against the real store: conversions both ways, the
// store's rules mapped to the API's errors.
func TestAnsweringRulesThroughTheAPI(t *testing.T) {
	api := startRulesEngine(t)
	api.must(t, http.StatusCreated, "POST", "/api/v1/users", map[string]any{"first_name": "Ada", "extension": "3001"})

	t.Run("call paths", func(t *testing.T) {
		u := api.must(t, http.StatusCreated, "POST", "/api/v1/users",
			map[string]any{"first_name": "Una", "extension": "3003", "call_paths": 0})
		require.Equal(t, float64(0), u["call_paths"], "0 is unlimited, not the default")
		u = api.must(t, http.StatusCreated, "POST", "/api/v1/users",
			map[string]any{"first_name": "Tri", "extension": "3004", "call_paths": 3})
		require.Equal(t, float64(3), u["call_paths"])
		u = api.must(t, http.StatusOK, "PATCH", "/api/v1/users/3004", map[string]any{"call_paths": 5})
		require.Equal(t, float64(5), u["call_paths"])
		code, body := api.do(t, "PATCH", "/api/v1/users/3004", map[string]any{"call_paths": -1})
		require.Equal(t, http.StatusBadRequest, code)
		require.Equal(t, "call_paths", body["field"])
	})

	tf := api.must(t, http.StatusCreated, "POST", "/api/v1/time-frames", map[string]any{
		"name":   "Night shift",
		"weekly": []any{map[string]any{"days": []string{"sat"}, "start": "22:00", "end": "06:00"}},
		"dates":  []any{map[string]any{"from": "2026-12-24", "to": "2026-12-26"}},
	})
	require.Equal(t, false, tf["always"])
	require.Equal(t, []any{map[string]any{"days": []any{"sat"}, "start": "22:00", "end": "06:00"}}, tf["weekly"])

	list := api.must(t, http.StatusOK, "GET", "/api/v1/time-frames", nil)["time_frames"].([]any)
	require.Len(t, list, 2)
	require.Equal(t, "always", list[0].(map[string]any)["name"])

	tf = api.must(t, http.StatusOK, "PATCH", "/api/v1/time-frames/Night%20shift", map[string]any{"name": "night"})
	require.Equal(t, "night", tf["name"])
	require.Len(t, tf["dates"], 1, "untouched")
	code, body := api.do(t, "POST", "/api/v1/time-frames", map[string]any{"name": "NIGHT", "dates": []any{}})
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	code, body = api.do(t, "POST", "/api/v1/time-frames",
		map[string]any{"name": "NIGHT", "dates": []any{map[string]any{"from": "2026-01-01", "to": "2026-01-01"}}})
	require.Equal(t, http.StatusConflict, code, "%v", body)
	require.Equal(t, "name", body["field"])

	full := map[string]any{
		"time_frame": "night", "enabled": false, "dnd": false, "screening": true, "ring_for_s": 20,
		"forward_always":     nil,
		"forward_busy":       map[string]any{"kind": "voicemail", "to": "3001"},
		"forward_unanswered": map[string]any{"kind": "user", "to": "3003"},
		"forward_offline":    map[string]any{"kind": "external", "to": "+15550100"},
		"simring": map[string]any{"include_user": true, "ring_all_phones": false,
			"destinations": []any{map[string]any{"kind": "external", "to": "+15550199", "delay_s": 5, "confirm": true}}},
	}
	rule := api.must(t, http.StatusCreated, "POST", "/api/v1/users/3001/answering-rules", full)
	id := itoa(int64(rule["id"].(float64)))
	for k, v := range full {
		want, _ := json.Marshal(v)
		got, _ := json.Marshal(rule[k])
		require.JSONEq(t, string(want), string(got), k)
	}
	require.Equal(t, false, rule["is_default"])

	t.Run("confirm defaults to off-net numbers", func(t *testing.T) {
		r := api.must(t, http.StatusCreated, "POST", "/api/v1/users/3001/answering-rules", map[string]any{
			"time_frame": "night", "enabled": false,
			"simring": map[string]any{"include_user": true, "destinations": []any{
				map[string]any{"kind": "external", "to": "+15550101"},
				map[string]any{"kind": "external", "to": "+15550102", "confirm": false},
				map[string]any{"kind": "user", "to": "3003"},
			}},
		})
		var confirms []any
		for _, d := range r["simring"].(map[string]any)["destinations"].([]any) {
			confirms = append(confirms, d.(map[string]any)["confirm"])
		}
		require.Equal(t, []any{true, false, false}, confirms)
		api.must(t, http.StatusNoContent, "DELETE", "/api/v1/users/3001/answering-rules/"+itoa(int64(r["id"].(float64))), nil)
	})

	rule = api.must(t, http.StatusOK, "PATCH", "/api/v1/users/3001/answering-rules/"+id,
		map[string]any{"forward_busy": nil, "enabled": true})
	require.Nil(t, rule["forward_busy"])
	require.NotNil(t, rule["forward_unanswered"], "absent stays")
	require.NotNil(t, rule["simring"], "absent stays")
	rule = api.must(t, http.StatusOK, "PATCH", "/api/v1/users/3001/answering-rules/"+id, map[string]any{"simring": nil})
	require.Nil(t, rule["simring"])
	require.Equal(t, rule, api.must(t, http.StatusOK, "GET", "/api/v1/users/3001/answering-rules/"+id, nil))

	code, body = api.do(t, "POST", "/api/v1/users/3001/answering-rules", map[string]any{"time_frame": "weekend"})
	require.Equal(t, http.StatusBadRequest, code)
	require.Equal(t, "time_frame", body["field"])
	require.Equal(t, "exists", body["rule"])
	code, body = api.do(t, "POST", "/api/v1/users/3001/answering-rules",
		map[string]any{"time_frame": "night", "forward_always": map[string]any{"kind": "queue", "to": "1"}})
	require.Equal(t, http.StatusBadRequest, code)
	require.Equal(t, "forward_always", body["field"])

	rules := api.must(t, http.StatusOK, "GET", "/api/v1/users/3001/answering-rules", nil)["answering_rules"].([]any)
	require.Len(t, rules, 2)
	defaultID := itoa(int64(rules[1].(map[string]any)["id"].(float64)))

	code, body = api.do(t, "DELETE", "/api/v1/users/3001/answering-rules/"+defaultID, nil)
	require.Equal(t, http.StatusBadRequest, code)
	require.Equal(t, "default_rule", body["rule"])
	code, body = api.do(t, "PATCH", "/api/v1/users/3001/answering-rules/"+defaultID, map[string]any{"time_frame": "night"})
	require.Equal(t, http.StatusBadRequest, code)
	require.Equal(t, "default_rule", body["rule"])

	reordered := api.must(t, http.StatusOK, "PUT", "/api/v1/users/3001/answering-rules/order",
		map[string]any{"ids": []any{json.Number(defaultID), json.Number(id)}})["answering_rules"].([]any)
	require.Equal(t, defaultID, itoa(int64(reordered[0].(map[string]any)["id"].(float64))))
	require.Equal(t, float64(1), reordered[1].(map[string]any)["position"])
	code, body = api.do(t, "PUT", "/api/v1/users/3001/answering-rules/order", map[string]any{"ids": []any{json.Number(id)}})
	require.Equal(t, http.StatusBadRequest, code)
	require.Equal(t, "permutation", body["rule"])

	code, body = api.do(t, "GET", "/api/v1/users/3001/answering-rules/999999", nil)
	require.Equal(t, http.StatusNotFound, code)
	require.Equal(t, "answering rule not found", body["error"])
	code, body = api.do(t, "GET", "/api/v1/users/3999/answering-rules/"+id, nil)
	require.Equal(t, http.StatusNotFound, code)
	require.Equal(t, "user not found", body["error"])
	code, _ = api.do(t, "GET", "/api/v1/users/3999/answering-rules", nil)
	require.Equal(t, http.StatusNotFound, code)

	ab := api.must(t, http.StatusOK, "GET", "/api/v1/users/3001/allow-block", nil)
	require.Equal(t, map[string]any{"allowed": []any{}, "blocked": []any{}, "block_anonymous": false}, ab)
	code, body = api.do(t, "PUT", "/api/v1/users/3001/allow-block",
		map[string]any{"allowed": []string{"+15550100"}, "blocked": []string{"+15550100"}})
	require.Equal(t, http.StatusBadRequest, code)
	require.Equal(t, "blocked", body["field"])

	api.must(t, http.StatusNoContent, "DELETE", "/api/v1/users/3001/answering-rules/"+id, nil)
	api.must(t, http.StatusNoContent, "DELETE", "/api/v1/time-frames/night", nil)
	api.must(t, http.StatusNotFound, "GET", "/api/v1/time-frames/night", nil)
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
