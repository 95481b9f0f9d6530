package admin

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

const (
	adaPIN      = "73918462"
	adaPassword = "correct-horse-battery-staple"
)

// adaJSON is a full user creation, as an admin would send it.
const adaJSON = `{
	"first_name": "Ada",
	"last_name": "Lovelace",
	"extension": "101",
	"login_name": "ada",
	"department": "Engineering",
	"site": "London",
	"timezone": "Europe/London",
	"emails": ["ada@example.com", "ada.l@example.org"],
	"scope": "office_manager",
	"record_calls": true,
	"announce_in_directory": true,
	"list_in_directory": false,
	"area_code": "212",
	"caller_id_name": "Ada Lovelace",
	"caller_id_number": "+12125550101",
	"emergency_caller_id": "+12125550100",
	"emergency_address": "12 St James's Square, London",
	"phone_number": "+12125550101",
	"mobile_number": "+447700900123",
	"pager_number": "+12125550199",
	"voicemail_enabled": true,
	"call_paths": 3,
	"voicemail_pin": "` + adaPIN + `",
	"password": "` + adaPassword + `"
}`

// adaWant is how Ada reads back.
var adaWant = map[string]any{
	"first_name":            "Ada",
	"last_name":             "Lovelace",
	"extension":             "101",
	"login_name":            "ada",
	"department":            "Engineering",
	"site":                  "London",
	"timezone":              "Europe/London",
	"emails":                []any{"ada@example.com", "ada.l@example.org"},
	"scope":                 "office_manager",
	"record_calls":          true,
	"announce_in_directory": true,
	"list_in_directory":     false,
	"area_code":             "212",
	"caller_id_name":        "Ada Lovelace",
	"caller_id_number":      "+12125550101",
	"emergency_caller_id":   "+12125550100",
	"emergency_address":     "12 St James's Square, London",
	"phone_number":          "+12125550101",
	"mobile_number":         "+447700900123",
	"pager_number":          "+12125550199",
	"voicemail_enabled":     true,
	"call_paths":            float64(3),
	"has_voicemail_pin":     true,
	"has_password":          true,
	"created_at":            "2025-03-01T09:30:00Z",
	"updated_at":            "2025-03-01T09:30:00Z",
}

// with returns a copy of m with the given fields changed.
func with(m map[string]any, kv ...any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

// step is one request of a scenario; the steps of a test run in order
// against the same server.
type step struct {
	name       string
	method     string
	path       string
	body       string
	wantStatus int
	wantBody   map[string]any // compared whole when set
	check      func(t *testing.T, res response)
}

func runSteps(t *testing.T, e *testEnv, steps []step) {
	t.Helper()
	for _, st := range steps {
		ok := t.Run(st.name, func(t *testing.T) {
			res := e.do(t, st.method, st.path, st.body)
			require.Equal(t, st.wantStatus, res.status, "body: %s", res.body)
			if st.wantBody != nil {
				require.Equal(t, st.wantBody, res.json(t))
			}
			if st.check != nil {
				st.check(t, res)
			}
		})
		if !ok {
			t.FailNow() // later steps depend on this one
		}
	}
}

func TestUsers(t *testing.T) {
	e := newTestEnv(t)
	runSteps(t, e, []step{
		{
			name: "create", method: "POST", path: "/api/v1/users", body: adaJSON,
			wantStatus: http.StatusCreated, wantBody: adaWant,
			check: func(t *testing.T, res response) {
				require.Equal(t, "/api/v1/users/101", res.header.Get("Location"))
			},
		},
		{
			name: "create with defaults", method: "POST", path: "/api/v1/users",
			body:       `{"first_name": "Grace", "last_name": "Hopper", "extension": "102", "site": "Arlington", "department": "Navy"}`,
			wantStatus: http.StatusCreated,
			wantBody: map[string]any{
				"first_name": "Grace", "last_name": "Hopper", "extension": "102",
				"login_name": "", "department": "Navy", "site": "Arlington", "timezone": "",
				"emails": []any{}, "scope": "basic", "record_calls": false,
				"announce_in_directory": true, "list_in_directory": true,
				"area_code": "", "caller_id_name": "", "caller_id_number": "",
				"emergency_caller_id": "", "emergency_address": "", "phone_number": "",
				"mobile_number": "", "pager_number": "", "voicemail_enabled": true,
				"call_paths": float64(2), "has_voicemail_pin": false, "has_password": false,
				"created_at": "2025-03-01T09:30:00Z", "updated_at": "2025-03-01T09:30:00Z",
			},
		},
		{
			name: "create taken extension", method: "POST", path: "/api/v1/users",
			body:       `{"first_name": "Ada", "extension": "101"}`,
			wantStatus: http.StatusConflict,
			wantBody:   map[string]any{"error": "extension is already in use", "field": "extension", "rule": "unique"},
		},
		{
			name: "create bad extension", method: "POST", path: "/api/v1/users",
			body:       `{"first_name": "Bob", "extension": "1a"}`,
			wantStatus: http.StatusBadRequest,
			wantBody:   map[string]any{"error": "extension must be 2 to 10 digits", "field": "extension", "rule": "format"},
		},
		{
			name: "get", method: "GET", path: "/api/v1/users/101",
			wantStatus: http.StatusOK, wantBody: adaWant,
		},
		{
			name: "list", method: "GET", path: "/api/v1/users",
			wantStatus: http.StatusOK,
			check: func(t *testing.T, res response) {
				body := res.json(t)
				require.EqualValues(t, 2, body["total"])
				users := body["users"].([]any)
				require.Len(t, users, 2)
				require.Equal(t, adaWant, users[0])
				require.Equal(t, "102", users[1].(map[string]any)["extension"])
			},
		},
		{
			name: "list by site", method: "GET", path: "/api/v1/users?site=Arlington",
			wantStatus: http.StatusOK,
			check: func(t *testing.T, res response) {
				body := res.json(t)
				require.EqualValues(t, 1, body["total"])
				require.Equal(t, "102", body["users"].([]any)[0].(map[string]any)["extension"])
			},
		},
		{
			name: "list by department, second page", method: "GET",
			path: "/api/v1/users?department=Engineering&limit=1&offset=1", wantStatus: http.StatusOK,
			wantBody: map[string]any{"users": []any{}, "total": float64(1)},
		},
		{
			name: "patch", method: "PATCH", path: "/api/v1/users/101",
			body:       `{"department": "Analytical Engines", "emails": ["ada@engine.example"], "record_calls": false}`,
			wantStatus: http.StatusOK,
			wantBody: with(adaWant, "department", "Analytical Engines", "emails", []any{"ada@engine.example"},
				"record_calls", false, "updated_at", "2025-03-01T09:31:00Z"),
		},
		{
			name: "patch keeps it", method: "GET", path: "/api/v1/users/101", wantStatus: http.StatusOK,
			wantBody: with(adaWant, "department", "Analytical Engines", "emails", []any{"ada@engine.example"},
				"record_calls", false, "updated_at", "2025-03-01T09:31:00Z"),
		},
		{
			name: "patch clears password", method: "PATCH", path: "/api/v1/users/102",
			body: `{"password": ""}`, wantStatus: http.StatusOK,
			check: func(t *testing.T, res response) { require.Equal(t, false, res.json(t)["has_password"]) },
		},
		{
			name: "patch login name taken", method: "PATCH", path: "/api/v1/users/102",
			body: `{"login_name": "ada"}`, wantStatus: http.StatusConflict,
			wantBody: map[string]any{"error": "login_name is already in use", "field": "login_name", "rule": "unique"},
		},
		{
			name: "patch moves extension", method: "PATCH", path: "/api/v1/users/102",
			body: `{"extension": "202"}`, wantStatus: http.StatusOK,
			check: func(t *testing.T, res response) { require.Equal(t, "202", res.json(t)["extension"]) },
		},
		{
			name: "old extension gone", method: "GET", path: "/api/v1/users/102",
			wantStatus: http.StatusNotFound, wantBody: map[string]any{"error": "user not found"},
		},
		{
			name: "patch bad extension", method: "PATCH", path: "/api/v1/users/202",
			body: `{"extension": "2"}`, wantStatus: http.StatusBadRequest,
			wantBody: map[string]any{"error": "extension must be 2 to 10 digits", "field": "extension", "rule": "format"},
		},
		{
			name: "patch missing user", method: "PATCH", path: "/api/v1/users/999",
			body: `{"site": "Paris"}`, wantStatus: http.StatusNotFound,
		},
		{
			name: "delete", method: "DELETE", path: "/api/v1/users/202", wantStatus: http.StatusNoContent,
		},
		{
			name: "delete again", method: "DELETE", path: "/api/v1/users/202",
			wantStatus: http.StatusNotFound, wantBody: map[string]any{"error": "user not found"},
		},
		{
			name: "get deleted", method: "GET", path: "/api/v1/users/202", wantStatus: http.StatusNotFound,
		},
	})
}

func TestPatchUserLeavesAbsentFields(t *testing.T) {
	tests := []struct {
		name  string
		patch string
		want  map[string]any
	}{
		{"empty object", `{}`, with(adaWant, "updated_at", "2025-03-01T09:31:00Z")},
		{"one string", `{"site": "Paris"}`, with(adaWant, "site", "Paris", "updated_at", "2025-03-01T09:31:00Z")},
		{"one bool", `{"list_in_directory": true}`, with(adaWant, "list_in_directory", true, "updated_at", "2025-03-01T09:31:00Z")},
		{"empty string clears", `{"pager_number": ""}`, with(adaWant, "pager_number", "", "updated_at", "2025-03-01T09:31:00Z")},
		{"empty array clears", `{"emails": []}`, with(adaWant, "emails", []any{}, "updated_at", "2025-03-01T09:31:00Z")},
		{"new pin", `{"voicemail_pin": "50812"}`, with(adaWant, "updated_at", "2025-03-01T09:31:00Z")},
		{"unlimited call paths", `{"call_paths": 0}`, with(adaWant, "call_paths", float64(0), "updated_at", "2025-03-01T09:31:00Z")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			require.Equal(t, http.StatusCreated, e.do(t, "POST", "/api/v1/users", adaJSON).status)

			res := e.do(t, "PATCH", "/api/v1/users/101", tt.patch)
			require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
			require.Equal(t, tt.want, res.json(t))
			require.Equal(t, tt.want, e.do(t, "GET", "/api/v1/users/101", "").json(t))
		})
	}
}

func TestListUsersQuery(t *testing.T) {
	tests := []struct {
		name       string
		query      string
		wantStatus int
		wantFilter UserListFilter
		wantField  string
		wantRule   string
	}{
		{name: "defaults", query: "", wantStatus: 200, wantFilter: UserListFilter{Limit: 100}},
		{name: "all set", query: "?limit=10&offset=20&site=Toronto&department=Sales", wantStatus: 200,
			wantFilter: UserListFilter{Site: "Toronto", Department: "Sales", Limit: 10, Offset: 20}},
		{name: "max limit", query: "?limit=1000", wantStatus: 200, wantFilter: UserListFilter{Limit: 1000}},
		{name: "limit not a number", query: "?limit=ten", wantStatus: 400, wantField: "limit", wantRule: "type"},
		{name: "limit zero", query: "?limit=0", wantStatus: 400, wantField: "limit", wantRule: "range"},
		{name: "limit too big", query: "?limit=1001", wantStatus: 400, wantField: "limit", wantRule: "range"},
		{name: "negative offset", query: "?offset=-1", wantStatus: 400, wantField: "offset", wantRule: "range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			res := e.do(t, "GET", "/api/v1/users"+tt.query, "")
			require.Equal(t, tt.wantStatus, res.status, "body: %s", res.body)
			if tt.wantStatus != http.StatusOK {
				body := res.json(t)
				require.Equal(t, tt.wantField, body["field"])
				require.Equal(t, tt.wantRule, body["rule"])
				require.Zero(t, e.backend.callCount())
				return
			}
			require.Equal(t, map[string]any{"users": []any{}, "total": float64(0)}, res.json(t))
			require.Equal(t, tt.wantFilter, e.backend.lastList)
		})
	}
}

// TestSecretsNeverReturned walks every answer that shows a user or a phone
// and looks for the secrets in the raw bytes. The only secret ever answered
// is a generated SIP password, once, in the answer that created it.
func TestSecretsNeverReturned(t *testing.T) {
	const chosenSIP = "Chosen-SIP-Pass-4417"
	e := newTestEnv(t)
	var generated string
	var answers [][]byte
	keep := func(res response) { answers = append(answers, res.body) }

	res := e.do(t, "POST", "/api/v1/users", adaJSON)
	require.Equal(t, http.StatusCreated, res.status)
	keep(res)

	res = e.do(t, "POST", "/api/v1/users/101/phones", `{"name": "101a", "sip_password": "`+chosenSIP+`", "model": "yealink-t54w"}`)
	require.Equal(t, http.StatusCreated, res.status)
	require.NotContains(t, res.json(t), "sip_password")
	keep(res)

	res = e.do(t, "POST", "/api/v1/users/101/phones", `{"name": "101b", "model": "polycom-vvx450"}`)
	require.Equal(t, http.StatusCreated, res.status)
	generated, _ = res.json(t)["sip_password"].(string)
	require.NotEmpty(t, generated, "the create answer shows the generated password")

	for _, rq := range []struct{ method, path, body string }{
		{"GET", "/api/v1/users/101", ""},
		{"GET", "/api/v1/users", ""},
		{"PATCH", "/api/v1/users/101", `{"site": "Paris", "voicemail_pin": "` + adaPIN + `", "password": "` + adaPassword + `"}`},
		{"GET", "/api/v1/users/101/phones", ""},
		{"GET", "/api/v1/users/101/phones/101a", ""},
		{"GET", "/api/v1/users/101/phones/101b", ""},
		{"PATCH", "/api/v1/users/101/phones/101a", `{"sip_password": "` + chosenSIP + `"}`},
		{"PATCH", "/api/v1/users/101/phones/101b", `{"model": "polycom-vvx250"}`},
	} {
		res := e.do(t, rq.method, rq.path, rq.body)
		require.Equal(t, http.StatusOK, res.status, "%s %s: %s", rq.method, rq.path, res.body)
		keep(res)
	}

	for _, body := range answers {
		for _, secret := range []string{adaPIN, adaPassword, chosenSIP, generated} {
			require.False(t, bytes.Contains(body, []byte(secret)), "secret %q in %s", secret, body)
		}
		for _, field := range []string{`"voicemail_pin"`, `"password"`, `"sip_password"`} {
			require.False(t, bytes.Contains(body, []byte(field)), "field %s in %s", field, body)
		}
	}
}
