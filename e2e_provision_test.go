package switchboard_test

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
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
