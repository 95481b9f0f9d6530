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
		FeatureCodes:            FeatureCodes{OwnVoicemail: "*97", AnyVoicemail: "*98", Directory: "411"},
		ProvisioningCredentials: []ProvisioningCredential{}}
	runSteps(t, e, []step{
		{
			name: "get", method: "GET", path: "/api/v1/settings", wantStatus: http.StatusOK,
			wantBody: map[string]any{"external_calls_per_minute": float64(10), "external_calls_concurrent": float64(2),
				"feature_codes": map[string]any{"own_voicemail": "*97", "any_voicemail": "*98", "directory": "411"}, "smtp": noSMTP, "public_url": "",
				"provisioning_credentials": []any{}, "directory_by_first_name": false, "announce_recording": false},
		},
		{
			name: "patch one member", method: "PATCH", path: "/api/v1/settings",
			body: `{"external_calls_concurrent": 5, "feature_codes": {"directory": "*411"}}`, wantStatus: http.StatusOK,
			wantBody: map[string]any{"external_calls_per_minute": float64(10), "external_calls_concurrent": float64(5),
				"feature_codes": map[string]any{"own_voicemail": "*97", "any_voicemail": "*98", "directory": "*411"}, "smtp": noSMTP, "public_url": "",
				"provisioning_credentials": []any{}, "directory_by_first_name": false, "announce_recording": false},
		},
		{
			name: "patch the directory and recording settings", method: "PATCH", path: "/api/v1/settings",
			body: `{"directory_by_first_name": true, "announce_recording": true}`, wantStatus: http.StatusOK,
			check: func(t *testing.T, res response) {
				require.Equal(t, true, res.json(t)["directory_by_first_name"])
				require.Equal(t, true, res.json(t)["announce_recording"])
				require.Equal(t, float64(5), res.json(t)["external_calls_concurrent"], "the rest unchanged")
			},
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

// TestProvisioningCredentialsAPI: the credentials list goes to the backend
// as sent, a password only when sent; answers show has_password and never
// the password.
func TestProvisioningCredentialsAPI(t *testing.T) {
	e := newTestEnv(t)
	e.backend.settings = Settings{ProvisioningCredentials: []ProvisioningCredential{}}
	creds := func(t *testing.T, res response) []any {
		require.NotContains(t, string(res.body), `"password"`, "no password member")
		require.NotContains(t, string(res.body), "hq-secret-0001")
		return res.json(t)["provisioning_credentials"].([]any)
	}
	runSteps(t, e, []step{
		{
			name: "set", method: "PATCH", path: "/api/v1/settings",
			body:       `{"provisioning_credentials": [{"username": "prov-hq", "password": "hq-secret-0001", "site": "hq"}, {"username": "prov-all", "password": "all-secret-0001"}]}`,
			wantStatus: http.StatusOK,
			check: func(t *testing.T, res response) {
				require.Equal(t, []any{
					map[string]any{"username": "prov-hq", "has_password": true, "site": "hq"},
					map[string]any{"username": "prov-all", "has_password": true, "site": ""},
				}, creds(t, res))
			},
		},
		{
			name: "get", method: "GET", path: "/api/v1/settings", wantStatus: http.StatusOK,
			check: func(t *testing.T, res response) { require.Len(t, creds(t, res), 2) },
		},
		{
			name: "keep a password, drop a credential", method: "PATCH", path: "/api/v1/settings",
			body: `{"provisioning_credentials": [{"username": "prov-hq", "site": "lab"}]}`, wantStatus: http.StatusOK,
			check: func(t *testing.T, res response) {
				require.Equal(t, []any{map[string]any{"username": "prov-hq", "has_password": true, "site": "lab"}}, creds(t, res))
				require.Equal(t, map[string]string{"prov-hq": "hq-secret-0001"}, e.backend.provisionPass)
			},
		},
		{
			name: "other members leave the list alone", method: "PATCH", path: "/api/v1/settings",
			body: `{"public_url": "https://pbx.example.com"}`, wantStatus: http.StatusOK,
			check: func(t *testing.T, res response) { require.Len(t, creds(t, res), 1) },
		},
		{
			name: "wrong type", method: "PATCH", path: "/api/v1/settings",
			body: `{"provisioning_credentials": [{"username": 7}]}`, wantStatus: http.StatusBadRequest,
			check: func(t *testing.T, res response) {
				require.Equal(t, "type", res.json(t)["rule"])
				require.Equal(t, "provisioning_credentials.username", res.json(t)["field"])
			},
		},
		{
			name: "not a list", method: "PATCH", path: "/api/v1/settings",
			body: `{"provisioning_credentials": {"username": "x"}}`, wantStatus: http.StatusBadRequest,
			check: func(t *testing.T, res response) { require.Equal(t, "provisioning_credentials", res.json(t)["field"]) },
		},
		{
			name: "unknown member", method: "PATCH", path: "/api/v1/settings",
			body: `{"provisioning_credentials": [{"username": "x", "has_password": true}]}`, wantStatus: http.StatusBadRequest,
			check: func(t *testing.T, res response) { require.Equal(t, "unknown_field", res.json(t)["rule"]) },
		},
		{
			name: "null list", method: "PATCH", path: "/api/v1/settings",
			body: `{"provisioning_credentials": null}`, wantStatus: http.StatusBadRequest,
			check: func(t *testing.T, res response) { require.Equal(t, "not_null", res.json(t)["rule"]) },
		},
		{
			name: "clear", method: "PATCH", path: "/api/v1/settings",
			body: `{"provisioning_credentials": []}`, wantStatus: http.StatusOK,
			check: func(t *testing.T, res response) { require.Empty(t, creds(t, res)) },
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
