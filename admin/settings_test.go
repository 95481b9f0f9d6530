package admin

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSettingsAPI(t *testing.T) {
	noSMTP := map[string]any{"host": "", "port": 0.0, "starttls": false, "username": "", "has_password": false, "from": ""}
	e := newTestEnv(t)
	e.backend.settings = Settings{ExternalCallsPerMinute: 10, ExternalCallsConcurrent: 2,
		FeatureCodes: FeatureCodes{OwnVoicemail: "*97", AnyVoicemail: "*98", Directory: "411"}}
	runSteps(t, e, []step{
		{
			name: "get", method: "GET", path: "/api/v1/settings", wantStatus: http.StatusOK,
			wantBody: map[string]any{"external_calls_per_minute": float64(10), "external_calls_concurrent": float64(2),
				"feature_codes": map[string]any{"own_voicemail": "*97", "any_voicemail": "*98", "directory": "411"}, "smtp": noSMTP, "public_url": ""},
		},
		{
			name: "patch one member", method: "PATCH", path: "/api/v1/settings",
			body: `{"external_calls_concurrent": 5, "feature_codes": {"directory": "*411"}}`, wantStatus: http.StatusOK,
			wantBody: map[string]any{"external_calls_per_minute": float64(10), "external_calls_concurrent": float64(5),
				"feature_codes": map[string]any{"own_voicemail": "*97", "any_voicemail": "*98", "directory": "*411"}, "smtp": noSMTP, "public_url": ""},
		},
		{
			name: "unknown member", method: "PATCH", path: "/api/v1/settings",
			body: `{"calls_per_hour": 5}`, wantStatus: http.StatusBadRequest,
			check: func(t *testing.T, res response) { require.Equal(t, "calls_per_hour", res.json(t)["field"]) },
		},
		{
			name: "wrong type", method: "PATCH", path: "/api/v1/settings",
			body: `{"external_calls_per_minute": "ten"}`, wantStatus: http.StatusBadRequest,
			check: func(t *testing.T, res response) { require.Equal(t, "external_calls_per_minute", res.json(t)["field"]) },
		},
		{
			name: "backend refusal", method: "PATCH", path: "/api/v1/settings",
			body: `{"external_calls_per_minute": -1}`, wantStatus: http.StatusBadRequest,
			check: func(t *testing.T, res response) { require.Equal(t, "range", res.json(t)["rule"]) },
		},
	})
}

func TestCallsAPI(t *testing.T) {
	e := newTestEnv(t)
	started := e.backend.now.Add(-90 * time.Second)
	answered := e.backend.now.Add(-60 * time.Second)
	runSteps(t, e, []step{{
		name: "none", method: "GET", path: "/api/v1/calls", wantStatus: http.StatusOK,
		wantBody: map[string]any{"calls": []any{}},
	}})
	e.backend.liveCalls = []Call{
		{CallID: "a@x", From: "1002", FromName: "Grace", CallerExtension: "1002", Dialled: "1001", State: "answered",
			Extensions: []string{"1002", "1001"}, AnsweredBy: "1001a", Started: started, Answered: &answered},
		{CallID: "b@x", From: "+12125550100", FromTrunk: true, Dialled: "+15550001", State: "ringing", Started: answered},
	}
	runSteps(t, e, []step{{
		name: "two", method: "GET", path: "/api/v1/calls", wantStatus: http.StatusOK,
		check: func(t *testing.T, res response) {
			calls := res.json(t)["calls"].([]any)
			require.Len(t, calls, 2)
			first, second := calls[0].(map[string]any), calls[1].(map[string]any)
			require.Equal(t, float64(60), first["duration_s"], "seconds since the answer")
			require.Equal(t, "1001a", first["answered_by"])
			require.Equal(t, []any{"1002", "1001"}, first["extensions"])
			require.Nil(t, second["answered"], "a ringing call has no answer time")
			require.Equal(t, []any{}, second["extensions"])
			require.Equal(t, float64(0), second["duration_s"])
		},
	}})
}
