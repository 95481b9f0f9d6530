package switchboard_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// fullUser sets every profile field of a user, none at its default.
var fullUser = map[string]any{
	"extension":             "2001",
	"login_name":            "grace.hopper",
	"first_name":            "Grace",
	"last_name":             "Hopper",
	"department":            "Research",
	"site":                  "Arlington",
	"timezone":              "America/New_York",
	"emails":                []string{"grace@example.com", "ghopper@example.org"},
	"scope":                 "site_manager",
	"record_calls":          true,
	"announce_in_directory": false,
	"list_in_directory":     false,
	"area_code":             "703",
	"caller_id_name":        "Grace Hopper",
	"caller_id_number":      "+17035550100",
	"emergency_caller_id":   "+17035550101",
	"emergency_address":     "1 Navy Way, Arlington VA",
	"phone_number":          "+17035550102",
	"mobile_number":         "+17035550103",
	"pager_number":          "+17035550104",
	"voicemail_enabled":     false,
	"voicemail_pin":         "7391",
	"password":              "correct horse battery",
}

// asMap decodes a JSON object into a generic map, numbers as json.Number.
func asMap(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(body, &m), "body: %s", body)
	return m
}

// without returns a copy of m without the named keys.
func without(m map[string]any, keys ...string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	for _, k := range keys {
		delete(out, k)
	}
	return out
}

func requireAPIError(t *testing.T, body []byte, field, rule string) {
	t.Helper()
	var e apiError
	require.NoError(t, json.Unmarshal(body, &e), "body: %s", body)
	require.NotEmpty(t, e.Error, "body: %s", body)
	require.Equal(t, field, e.Field, "body: %s", body)
	if rule != "" {
		require.Equal(t, rule, e.Rule, "body: %s", body)
	}
}

func TestE2EAdminAPI(t *testing.T) {
	t.Parallel()
	e := startEngine(t)
	api := e.api

	// Create with every field, read it back: every field as sent, the
	// secrets only as "set".
	code, body := api.do(http.MethodPost, "/api/v1/users", fullUser)
	require.Equal(t, http.StatusCreated, code, "%s", body)
	created := asMap(t, body)
	code, body = api.do(http.MethodGet, "/api/v1/users/2001", nil)
	require.Equal(t, http.StatusOK, code, "%s", body)
	user := asMap(t, body)
	require.Equal(t, created, user)
	for k, v := range without(fullUser, "voicemail_pin", "password", "emails") {
		require.Equal(t, v, user[k], "field %s", k)
	}
	require.Equal(t, []any{"grace@example.com", "ghopper@example.org"}, user["emails"])
	require.Equal(t, true, user["has_voicemail_pin"])
	require.Equal(t, true, user["has_password"])
	require.NotContains(t, user, "voicemail_pin")
	require.NotContains(t, user, "password")

	// PATCH one field: only it (and updated_at) changes.
	code, body = api.do(http.MethodPatch, "/api/v1/users/2001", map[string]any{"department": "Compilers"})
	require.Equal(t, http.StatusOK, code, "%s", body)
	patched := asMap(t, body)
	require.Equal(t, "Compilers", patched["department"])
	require.Equal(t, without(user, "department", "updated_at"), without(patched, "department", "updated_at"))
	_, body = api.do(http.MethodGet, "/api/v1/users/2001", nil)
	require.Equal(t, patched, asMap(t, body))
	user = patched

	snapshot := func() string {
		_, b := api.do(http.MethodGet, "/api/v1/users", nil)
		return string(b)
	}
	before := snapshot()

	// Text that would end up in SIP headers refuses line breaks and
	// angle brackets, on creation and on update, naming the field.
	for _, tc := range []struct {
		name, field, value string
	}{
		{"CRLF in first name", "first_name", "Grace\r\nVia: SIP/2.0/UDP evil"},
		{"LF in last name", "last_name", "Hopper\nX-Injected: 1"},
		{"angle bracket in caller ID name", "caller_id_name", "Grace <sip:evil@example.com>"},
		{"angle bracket in department", "department", "R&D <lab>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := api.do(http.MethodPost, "/api/v1/users", map[string]any{"extension": "2099", tc.field: tc.value})
			require.Equal(t, http.StatusBadRequest, code, "%s", body)
			requireAPIError(t, body, tc.field, "header_safe")

			code, body = api.do(http.MethodPatch, "/api/v1/users/2001", map[string]any{tc.field: tc.value})
			require.Equal(t, http.StatusBadRequest, code, "%s", body)
			requireAPIError(t, body, tc.field, "header_safe")
		})
	}
	require.Equal(t, before, snapshot(), "refused requests changed what is stored")

	// Uniqueness: extension, and MAC whatever its spelling.
	api.createUser("2002", map[string]any{"first_name": "Alan", "last_name": "Turing"})
	code, body = api.do(http.MethodPost, "/api/v1/users", map[string]any{"extension": "2001"})
	require.Equal(t, http.StatusConflict, code, "%s", body)
	requireAPIError(t, body, "extension", "unique")
	code, body = api.do(http.MethodPatch, "/api/v1/users/2002", map[string]any{"extension": "2001"})
	require.Equal(t, http.StatusConflict, code, "%s", body)
	requireAPIError(t, body, "extension", "unique")

	api.must(http.MethodPost, "/api/v1/users/2001/phones", map[string]any{
		"name": "2001a", "sip_password": "secret-2001a", "model": "yealink-t54w", "mac": "80:5e:c0:11:22:33",
	}, http.StatusCreated, nil)
	code, body = api.do(http.MethodPost, "/api/v1/users/2002/phones", map[string]any{
		"name": "2002a", "mac": "80-5E-C0-11-22-33",
	})
	require.Equal(t, http.StatusConflict, code, "%s", body)
	requireAPIError(t, body, "mac", "unique")
	code, body = api.do(http.MethodGet, "/api/v1/users/2002/phones", nil)
	require.Equal(t, http.StatusOK, code)
	require.JSONEq(t, `{"phones":[]}`, string(body))

	// Invalid JSON is a 400 and changes nothing.
	before = snapshot()
	for _, tc := range []struct {
		name, method, path, body string
	}{
		{"create, truncated", http.MethodPost, "/api/v1/users", `{"extension":"2003","first_name":"Ed`},
		{"create, not an object", http.MethodPost, "/api/v1/users", `["2003"]`},
		{"create, trailing data", http.MethodPost, "/api/v1/users", `{"extension":"2003"} {"extension":"2004"}`},
		{"update, syntax error", http.MethodPatch, "/api/v1/users/2001", `{"department": Research}`},
		{"update, wrong type", http.MethodPatch, "/api/v1/users/2001", `{"record_calls":"yes"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := api.raw(tc.method, tc.path, "application/json", []byte(tc.body))
			require.Equal(t, http.StatusBadRequest, code, "%s", body)
			var e apiError
			require.NoError(t, json.Unmarshal(body, &e), "an error body is JSON: %s", body)
			require.NotEmpty(t, e.Error)
		})
	}
	require.Equal(t, before, snapshot(), "invalid JSON changed what is stored")
	_, body = api.do(http.MethodGet, "/api/v1/users/2001", nil)
	require.Equal(t, user, asMap(t, body))

	// Deleting a user deletes its phones: the phone's binding goes at
	// once, and the phone can no longer register.
	e.register(t, sippRun{User: "2001a", Password: "secret-2001a"})
	api.registrationsLen(1)
	code, body = api.do(http.MethodDelete, "/api/v1/users/2001", nil)
	require.Equal(t, http.StatusNoContent, code, "%s", body)
	code, _ = api.do(http.MethodGet, "/api/v1/users/2001", nil)
	require.Equal(t, http.StatusNotFound, code)
	code, _ = api.do(http.MethodGet, "/api/v1/users/2001/phones/2001a", nil)
	require.Equal(t, http.StatusNotFound, code)
	api.registrationsLen(0)
	require.Equal(t, 0.0, api.metric("switchboard_sip_registrations"))

	res := runSipp(t, e.sipAddr(), sippRun{
		Scenario: "register_fail.xml", User: "2001a", Password: "secret-2001a",
		Keys: map[string]string{"call_key": randomKey(16)},
	})
	requireSippOK(t, res)
	require.Equal(t, 401, res.LastReceived(t).Status())
	api.registrationsLen(0)

	// The MAC is free again.
	api.must(http.MethodPost, "/api/v1/users/2002/phones", map[string]any{
		"name": "2002a", "mac": "80-5E-C0-11-22-33",
	}, http.StatusCreated, nil)
}
