package admin

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPhones(t *testing.T) {
	e := newTestEnv(t)
	require.Equal(t, http.StatusCreated, e.do(t, "POST", "/api/v1/users", adaJSON).status)

	phoneA := map[string]any{
		"name": "101a", "extension": "101", "model": "yealink-t54w", "mac": "80:5e:c0:12:34:56",
		"record_calls": true, "preferred_server": "sip2.example.net",
		"overrides":  map[string]any{"features.dnd.enable": "0", "lang.gui": "English"},
		"created_at": "2025-03-01T09:30:00Z", "updated_at": "2025-03-01T09:30:00Z",
	}
	runSteps(t, e, []step{
		{
			name: "create with a password", method: "POST", path: "/api/v1/users/101/phones",
			body: `{
				"name": "101a",
				"sip_password": "Xq7-phone-secret",
				"model": "yealink-t54w",
				"mac": "80:5e:c0:12:34:56",
				"record_calls": true,
				"preferred_server": "sip2.example.net",
				"overrides": {"features.dnd.enable": "0", "lang.gui": "English"}
			}`,
			wantStatus: http.StatusCreated, wantBody: phoneA,
			check: func(t *testing.T, res response) {
				require.Equal(t, "/api/v1/users/101/phones/101a", res.header.Get("Location"))
			},
		},
		{
			name: "create without a password", method: "POST", path: "/api/v1/users/101/phones",
			body:       `{"name": "101b", "model": "polycom-vvx450"}`,
			wantStatus: http.StatusCreated,
			wantBody: map[string]any{
				"name": "101b", "extension": "101", "model": "polycom-vvx450", "mac": "",
				"record_calls": false, "preferred_server": "", "overrides": map[string]any{},
				"sip_password": "GenSecret001qZ",
				"created_at":   "2025-03-01T09:30:00Z", "updated_at": "2025-03-01T09:30:00Z",
			},
		},
		{
			name: "create taken name", method: "POST", path: "/api/v1/users/101/phones",
			body: `{"name": "101a"}`, wantStatus: http.StatusConflict,
			wantBody: map[string]any{"error": "name is already in use", "field": "name", "rule": "unique"},
		},
		{
			name: "create bad name", method: "POST", path: "/api/v1/users/101/phones",
			body: `{"name": "101 a"}`, wantStatus: http.StatusBadRequest,
			check: func(t *testing.T, res response) {
				body := res.json(t)
				require.Equal(t, "name", body["field"])
				require.Equal(t, "format", body["rule"])
			},
		},
		{
			name: "create without name", method: "POST", path: "/api/v1/users/101/phones",
			body: `{"model": "yealink-t54w"}`, wantStatus: http.StatusBadRequest,
		},
		{
			name: "create for missing user", method: "POST", path: "/api/v1/users/999/phones",
			body: `{"name": "999a"}`, wantStatus: http.StatusNotFound,
			wantBody: map[string]any{"error": "user not found"},
		},
		{
			name: "list", method: "GET", path: "/api/v1/users/101/phones", wantStatus: http.StatusOK,
			check: func(t *testing.T, res response) {
				phones := res.json(t)["phones"].([]any)
				require.Len(t, phones, 2)
				require.Equal(t, phoneA, phones[0])
				require.Equal(t, "101b", phones[1].(map[string]any)["name"])
			},
		},
		{
			name: "get", method: "GET", path: "/api/v1/users/101/phones/101a",
			wantStatus: http.StatusOK, wantBody: phoneA,
		},
		{
			name: "get missing", method: "GET", path: "/api/v1/users/101/phones/101z",
			wantStatus: http.StatusNotFound, wantBody: map[string]any{"error": "phone not found"},
		},
		{
			name: "patch", method: "PATCH", path: "/api/v1/users/101/phones/101a",
			body:       `{"model": "yealink-t57w", "overrides": {"lang.gui": "French"}}`,
			wantStatus: http.StatusOK,
			wantBody: with(phoneA, "model", "yealink-t57w", "overrides", map[string]any{"lang.gui": "French"},
				"updated_at", "2025-03-01T09:31:00Z"),
		},
		{
			name: "patch keeps the rest", method: "GET", path: "/api/v1/users/101/phones/101a",
			wantStatus: http.StatusOK,
			wantBody: with(phoneA, "model", "yealink-t57w", "overrides", map[string]any{"lang.gui": "French"},
				"updated_at", "2025-03-01T09:31:00Z"),
		},
		{
			name: "patch cannot rename", method: "PATCH", path: "/api/v1/users/101/phones/101a",
			body: `{"name": "101c"}`, wantStatus: http.StatusBadRequest,
			wantBody: map[string]any{"error": "name is read-only", "field": "name", "rule": "read_only"},
		},
		{
			name: "patch null overrides", method: "PATCH", path: "/api/v1/users/101/phones/101a",
			body: `{"overrides": null}`, wantStatus: http.StatusBadRequest,
			wantBody: map[string]any{"error": "overrides must not be null", "field": "overrides", "rule": "not_null"},
		},
		{
			name: "delete", method: "DELETE", path: "/api/v1/users/101/phones/101b", wantStatus: http.StatusNoContent,
		},
		{
			name: "deleted", method: "GET", path: "/api/v1/users/101/phones/101b", wantStatus: http.StatusNotFound,
		},
		{
			name: "list after delete", method: "GET", path: "/api/v1/users/101/phones", wantStatus: http.StatusOK,
			check: func(t *testing.T, res response) { require.Len(t, res.json(t)["phones"], 1) },
		},
		{
			name: "list of a user without phones", method: "POST", path: "/api/v1/users",
			body: `{"first_name": "Grace", "extension": "102"}`, wantStatus: http.StatusCreated,
		},
		{
			name: "empty list", method: "GET", path: "/api/v1/users/102/phones", wantStatus: http.StatusOK,
			wantBody: map[string]any{"phones": []any{}},
		},
	})
}
