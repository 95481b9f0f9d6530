package switchboard_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchboard"
)

var (
	digestRealm = regexp.MustCompile(`realm="([^"]*)"`)
	digestNonce = regexp.MustCompile(`nonce="([^"]*)"`)
)

// fetchProvision GETs a provisioning file, answering the digest challenge
// with user and password (MD5, qop=auth) when user is not empty.
func fetchProvision(t *testing.T, e *testEngine, file, user, password string) (int, string) {
	t.Helper()
	url := "http://" + e.HTTPAddr().String() + "/provision/" + file
	res, err := http.Get(url)
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized || user == "" {
		return res.StatusCode, string(body)
	}
	var chal string
	for _, h := range res.Header.Values("WWW-Authenticate") {
		if strings.Contains(h, "MD5") || !strings.Contains(h, "algorithm") {
			chal = h
			break
		}
	}
	require.NotEmpty(t, chal, "an MD5 challenge: %v", res.Header.Values("WWW-Authenticate"))
	realm, nonce := digestRealm.FindStringSubmatch(chal)[1], digestNonce.FindStringSubmatch(chal)[1]
	uri := "/provision/" + file
	cnonce := randomKey(8)
	ha1 := md5Hex(user + ":" + realm + ":" + password)
	ha2 := md5Hex("GET:" + uri)
	resp := md5Hex(ha1 + ":" + nonce + ":00000001:" + cnonce + ":auth:" + ha2)
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", fmt.Sprintf(
		`Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", algorithm=MD5, qop=auth, nc=00000001, cnonce="%s"`,
		user, realm, nonce, uri, resp, cnonce))
	res, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	body, _ = io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

// keyValues reads a key = value provisioning file.
func keyValues(content string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(content, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			out[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return out
}

// A desk phone fetches its own file with its own SIP credentials, and
// those credentials register; nobody else gets the file, and the admin
// sees what the phone gets.
func TestE2EProvisioning(t *testing.T) {
	requireTool(t, "sipp")
	e := startEngine(t)
	e.api.createUser("1001", map[string]any{"first_name": "Ada", "last_name": "Lovelace", "timezone": "America/New_York"})
	e.api.must(http.MethodPost, "/api/v1/users/1001/phones", map[string]any{"name": "1001a", "sip_password": "secret-1001a",
		"model": "yealink-t54w", "mac": "80:5E:C0:11:22:33", "overrides": map[string]string{"lang.gui": "French"}}, http.StatusCreated, nil)
	e.addPhone(t, "1002", "1002a", "secret-1002a")

	var apiErr struct{ Field, Rule, Error string }
	e.api.must(http.MethodPost, "/api/v1/users/1001/phones", map[string]any{"name": "1001b", "model": "nokia-3310"},
		http.StatusBadRequest, &apiErr)
	require.Equal(t, "model", apiErr.Field)
	require.Contains(t, apiErr.Error, "yealink-t5x", "the error names the models that exist")
	e.api.must(http.MethodPatch, "/api/v1/users/1001/phones/1001a", map[string]any{"overrides": map[string]string{"bad key": "x"}},
		http.StatusBadRequest, &apiErr)
	require.Equal(t, "overrides", apiErr.Field)

	var models struct {
		Models []struct {
			ID string `json:"id"`
		} `json:"models"`
	}
	e.api.must(http.MethodGet, "/api/v1/provisioning/models", nil, http.StatusOK, &models)
	var ids []string
	for _, m := range models.Models {
		ids = append(ids, m.ID)
	}
	require.Subset(t, ids, []string{"yealink-t5x", "polycom-vvx", "cisco-spa", "cisco-mpp", "grandstream-gxp", "snom"})

	code, adminView := e.api.raw(http.MethodGet, "/api/v1/users/1001/phones/1001a/config", "", nil)
	require.Equal(t, http.StatusOK, code)
	kv := keyValues(string(adminView))
	require.Equal(t, "1001a", kv["account.1.auth_name"])
	require.Equal(t, "secret-1001a", kv["account.1.password"])
	require.Equal(t, "Ada Lovelace", kv["account.1.display_name"])
	require.Equal(t, "*97", kv["voice_mail.number.1"])
	require.Equal(t, "French", kv["lang.gui"], "the override is in the file")

	// The phone itself, with digest.
	code, _ = fetchProvision(t, e, "805ec0112233.cfg", "", "")
	require.Equal(t, http.StatusUnauthorized, code)
	code, file := fetchProvision(t, e, "805ec0112233.cfg", "1001a", "secret-1001a")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, string(adminView), file)
	wrongCode, wrongBody := fetchProvision(t, e, "805ec0112233.cfg", "1001a", "guess")
	unknownCode, unknownBody := fetchProvision(t, e, "805ec0aabbcc.cfg", "1001a", "secret-1001a")
	require.Equal(t, http.StatusUnauthorized, wrongCode)
	require.Equal(t, wrongCode, unknownCode, "an unknown MAC answers like a wrong password")
	require.Equal(t, wrongBody, unknownBody)
	code, _ = fetchProvision(t, e, "805ec0112233.cfg", "1002a", "secret-1002a")
	require.Equal(t, http.StatusUnauthorized, code, "another phone's credentials do not fetch this file")

	// What the file says registers.
	kv = keyValues(file)
	e.register(t, sippRun{User: kv["account.1.auth_name"], Password: kv["account.1.password"]})
	e.api.registrationsLen(1)
}

// An admin asks a registered phone to fetch its file again: it gets a
// NOTIFY with its vendor's check-sync event.
func TestE2EProvisioningResync(t *testing.T) {
	e := startEngine(t)
	e.api.createUser("1001", map[string]any{"first_name": "Ada", "last_name": "Lovelace"})
	e.api.must(http.MethodPost, "/api/v1/users/1001/phones", map[string]any{"name": "1001a", "sip_password": "secret-1001a",
		"model": "yealink-t54w", "mac": "80:5E:C0:11:22:33"}, http.StatusCreated, nil)
	var apiErr struct{ Field, Rule string }
	e.api.must(http.MethodPost, "/api/v1/phones/1001a:resync", nil, http.StatusConflict, &apiErr)
	require.Equal(t, "registered", apiErr.Rule)

	phone := registerPhone(t, e, "1001a", "secret-1001a")
	done := make(chan map[string]int, 1)
	go func() {
		var out map[string]int
		e.api.must(http.MethodPost, "/api/v1/phones/1001a:resync", nil, http.StatusOK, &out)
		done <- out
	}()
	n := nextNotify(t, phone)
	ev, _ := n.Header("Event")
	require.Equal(t, "check-sync;reboot=false", ev)
	require.True(t, strings.HasPrefix(n.First, "NOTIFY sip:1001a@"), n.First)
	require.Equal(t, map[string]int{"notified": 1}, <-done)
}

// Provisioning credentials kept in the settings let a desk phone fetch
// its file before it knows its own SIP credentials, only for phones of
// their site; their passwords are write-only, and the file follows the
// voicemail feature code.
func TestE2EProvisioningSiteCredentials(t *testing.T) {
	e := startEngine(t)
	e.api.createUser("1001", map[string]any{"first_name": "Ada", "last_name": "Lovelace", "site": "hq"})
	e.api.createUser("1002", map[string]any{"first_name": "Grace", "last_name": "Hopper", "site": "lab"})
	e.api.must(http.MethodPost, "/api/v1/users/1001/phones", map[string]any{"name": "1001a", "sip_password": "secret-1001a",
		"model": "yealink-t54w", "mac": "80:5E:C0:11:22:33"}, http.StatusCreated, nil)
	e.api.must(http.MethodPost, "/api/v1/users/1002/phones", map[string]any{"name": "1002a", "sip_password": "secret-1002a",
		"model": "yealink-t54w", "mac": "80:5E:C0:44:55:66"}, http.StatusCreated, nil)
	const hqFile, labFile = "805ec0112233.cfg", "805ec0445566.cfg"

	cred := func(user, password, site string) map[string]any {
		c := map[string]any{"username": user, "site": site}
		if password != "" {
			c["password"] = password
		}
		return c
	}
	for _, tc := range []struct {
		name        string
		creds       []map[string]any
		field, rule string
	}{
		{"no user name", []map[string]any{cred("", "hq-provision-1", "hq")}, "provisioning_credentials[0].username", "required"},
		{"a colon", []map[string]any{cred("prov:hq", "hq-provision-1", "hq")}, "provisioning_credentials[0].username", "characters"},
		{"a control character", []map[string]any{cred("prov\thq", "hq-provision-1", "hq")}, "provisioning_credentials[0].username", "characters"},
		{"twice the same name", []map[string]any{cred("prov-hq", "hq-provision-1", "hq"), cred("prov-hq", "hq-provision-2", "lab")},
			"provisioning_credentials[1].username", "unique"},
		{"a short password", []map[string]any{cred("prov-hq", "short", "hq")}, "provisioning_credentials[0].password", "length"},
		{"a new name without password", []map[string]any{cred("prov-hq", "", "hq")}, "provisioning_credentials[0].password", "required"},
		{"a phone's name", []map[string]any{cred("1002a", "hq-provision-1", "hq")}, "provisioning_credentials[0].username", "phone"},
	} {
		var apiErr struct{ Field, Rule string }
		e.api.must(http.MethodPatch, "/api/v1/settings", map[string]any{"provisioning_credentials": tc.creds}, http.StatusBadRequest, &apiErr)
		require.Equal(t, tc.field, apiErr.Field, tc.name)
		require.Equal(t, tc.rule, apiErr.Rule, tc.name)
	}
	var apiErr struct{ Field string }
	e.api.must(http.MethodPatch, "/api/v1/settings", map[string]any{"provisioning_credentials": "prov-hq"}, http.StatusBadRequest, &apiErr)
	require.Equal(t, "provisioning_credentials", apiErr.Field)

	code, body := e.api.do(http.MethodPatch, "/api/v1/settings", map[string]any{"provisioning_credentials": []map[string]any{
		cred("prov-hq", "hq-provision-1", "hq"), cred("prov-all", "all-provision-1", "")}})
	require.Equal(t, http.StatusOK, code, string(body))
	require.NotContains(t, string(body), "provision-1", "passwords never come back")
	var st struct {
		Creds []map[string]any `json:"provisioning_credentials"`
	}
	code, body = e.api.do(http.MethodGet, "/api/v1/settings", nil)
	require.Equal(t, http.StatusOK, code)
	require.NotContains(t, string(body), "provision-1")
	require.NoError(t, json.Unmarshal(body, &st))
	require.Equal(t, []map[string]any{
		{"username": "prov-hq", "has_password": true, "site": "hq"},
		{"username": "prov-all", "has_password": true, "site": ""},
	}, st.Creds)

	var phoneErr struct{ Field, Rule string }
	e.api.must(http.MethodPost, "/api/v1/users/1001/phones", map[string]any{"name": "prov-hq"}, http.StatusBadRequest, &phoneErr)
	require.Equal(t, "name", phoneErr.Field)
	require.Equal(t, "provisioning_credential", phoneErr.Rule)

	// A site's credentials fetch the files of that site's phones only.
	code, file := fetchProvision(t, e, hqFile, "prov-hq", "hq-provision-1")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "secret-1001a", keyValues(file)["account.1.password"])
	code, file = fetchProvision(t, e, labFile, "prov-hq", "hq-provision-1")
	require.Equal(t, http.StatusNotFound, code, "another site's phone")
	require.NotContains(t, file, "secret-1002a")
	code, _ = fetchProvision(t, e, labFile, "prov-all", "all-provision-1")
	require.Equal(t, http.StatusOK, code, "a credential of every site")
	code, _ = fetchProvision(t, e, hqFile, "prov-hq", "hq-provision-2")
	require.Equal(t, http.StatusUnauthorized, code, "a wrong password")
	require.Contains(t, e.logs.String(), "auth=site")

	// Sent again without its password, a credential keeps it.
	e.api.must(http.MethodPatch, "/api/v1/settings", map[string]any{"provisioning_credentials": []map[string]any{
		cred("prov-hq", "", "lab")}}, http.StatusOK, nil)
	code, _ = fetchProvision(t, e, labFile, "prov-hq", "hq-provision-1")
	require.Equal(t, http.StatusOK, code, "moved to the lab, same password")
	code, _ = fetchProvision(t, e, hqFile, "prov-hq", "hq-provision-1")
	require.Equal(t, http.StatusNotFound, code)
	code, _ = fetchProvision(t, e, labFile, "prov-all", "all-provision-1")
	require.Equal(t, http.StatusUnauthorized, code, "a credential left out of the list is gone")

	// The voicemail key dials the own_voicemail feature code.
	code, file = fetchProvision(t, e, hqFile, "1001a", "secret-1001a")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "*97", keyValues(file)["voice_mail.number.1"])
	e.api.must(http.MethodPatch, "/api/v1/settings", map[string]any{"feature_codes": map[string]any{"own_voicemail": "*86"}},
		http.StatusOK, nil)
	code, file = fetchProvision(t, e, hqFile, "1001a", "secret-1001a")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "*86", keyValues(file)["voice_mail.number.1"])
	_, adminView := e.api.raw(http.MethodGet, "/api/v1/users/1001/phones/1001a/config", "", nil)
	require.Equal(t, "*86", keyValues(string(adminView))["voice_mail.number.1"])
}

// quietPhone requires that no NOTIFY reaches c within d.
func quietPhone(t *testing.T, c *sipConn, d time.Duration, why string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return
		}
		m, ok := c.recv(left)
		if !ok {
			return
		}
		require.False(t, strings.HasPrefix(m.First, "NOTIFY "), "%s: %s", why, m.First)
	}
}

// A change to what a registered desk phone's file says sends the phone
// one check-sync NOTIFY once the edits have settled; changes that its file
// does not show, or to another user, send it nothing.
func TestE2EProvisioningAutoResync(t *testing.T) {
	const delay = 1500 * time.Millisecond
	e := startEngine(t, func(c *switchboard.Config) { c.ProvisionResyncDelay = delay })
	e.api.createUser("1001", map[string]any{"first_name": "Ada", "last_name": "Lovelace"})
	e.api.createUser("1002", map[string]any{"first_name": "Grace", "last_name": "Hopper"})
	e.api.must(http.MethodPost, "/api/v1/users/1001/phones", map[string]any{"name": "1001a", "sip_password": "secret-1001a",
		"model": "yealink-t54w", "mac": "80:5E:C0:11:22:33"}, http.StatusCreated, nil)
	e.api.must(http.MethodPost, "/api/v1/users/1002/phones", map[string]any{"name": "1002a", "sip_password": "secret-1002a",
		"model": "yealink-t54w", "mac": "80:5E:C0:44:55:66"}, http.StatusCreated, nil)
	phone := registerPhone(t, e, "1001a", "secret-1001a")

	// Nothing of 1001a's file changes.
	e.api.must(http.MethodPatch, "/api/v1/users/1002", map[string]any{"caller_id_name": "Amazing Grace"}, http.StatusOK, nil)
	e.api.must(http.MethodPatch, "/api/v1/users/1001", map[string]any{"department": "Engines"}, http.StatusOK, nil)
	e.api.must(http.MethodPatch, "/api/v1/users/1001/phones/1001a", map[string]any{"record_calls": true}, http.StatusOK, nil)
	quietPhone(t, phone, delay+time.Second, "no change to the phone's file")

	// Two quick edits of the name on the phone's display: one NOTIFY, a
	// delay after the second.
	e.api.must(http.MethodPatch, "/api/v1/users/1001", map[string]any{"caller_id_name": "Ada L"}, http.StatusOK, nil)
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	e.api.must(http.MethodPatch, "/api/v1/users/1001", map[string]any{"caller_id_name": "Ada King"}, http.StatusOK, nil)
	require.Less(t, time.Since(start), delay/2, "the answer does not wait for the resync")
	n := nextNotify(t, phone)
	require.GreaterOrEqual(t, time.Since(start), delay-100*time.Millisecond, "sent after the last edit settled")
	ev, _ := n.Header("Event")
	require.Equal(t, "check-sync;reboot=false", ev)
	require.True(t, strings.HasPrefix(n.First, "NOTIFY sip:1001a@"), n.First)
	quietPhone(t, phone, delay+time.Second, "one NOTIFY for the burst")
	require.Contains(t, e.logs.String(), "event=provision_resync phone=1001a reason=caller_id_name contacts=1")
	require.Equal(t, 1, strings.Count(e.logs.String(), "event=provision_resync"))

	// A phone setting its file carries.
	e.api.must(http.MethodPatch, "/api/v1/users/1001/phones/1001a", map[string]any{"overrides": map[string]string{"lang.gui": "French"}},
		http.StatusOK, nil)
	n = nextNotify(t, phone)
	ev, _ = n.Header("Event")
	require.Equal(t, "check-sync;reboot=false", ev)
	require.Eventually(t, func() bool {
		return strings.Contains(e.logs.String(), "event=provision_resync phone=1001a reason=overrides contacts=1")
	}, 3*time.Second, 20*time.Millisecond, "logged once the phone has answered")
}
