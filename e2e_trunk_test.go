package switchboard_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchboard/media"
)

// External calls go out through the trunk: to the provider's host and port,
// the dialled number completed to +E.164, with the calling user's caller ID
// (the emergency caller ID for 911), answering the provider's challenge with
// the trunk's credentials.
func TestE2ETrunkOutboundCall(t *testing.T) {
	requireTool(t, "sipp")
	e := startEngine(t)
	e.addPhone(t, "1002", "1002a", "secret-1002a")
	e.api.must(http.MethodPatch, "/api/v1/users/1002", map[string]any{
		"caller_id_number": "+14155550100", "caller_id_name": "Grace Hopper",
		"area_code": "415", "emergency_caller_id": "+14155550199",
	}, http.StatusOK, nil)
	providerPort := freePort(t, "127.0.0.1")
	e.api.must(http.MethodPut, "/api/v1/trunk", map[string]any{"host": "127.0.0.1", "port": providerPort,
		"username": "acct-42", "password": "trunk-secret"}, http.StatusOK, nil)

	cases := []struct {
		name, dialled, wantURI, wantFrom string
	}{
		{"seven digits get the area code", "5550123", "+14155550123", "+14155550100"},
		{"emergency", "911", "911", "+14155550199"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			provider := make(chan sippResult, 1)
			go func() {
				provider <- runSipp(t, e.sipAddr(), sippRun{Scenario: "uas_trunk_provider.xml", Port: providerPort,
					User: "acct-42"})
			}()
			time.Sleep(500 * time.Millisecond) // the provider's sipp binds its port

			caller := runSipp(t, e.sipAddr(), sippRun{Scenario: "uac_call.xml", User: "1002a", Password: "secret-1002a",
				Keys: map[string]string{"dialled": tc.dialled}})
			p := <-provider
			requireSippOK(t, p)
			requireSippOK(t, caller)

			var invites []sipMessage
			for _, m := range p.Received() {
				if strings.HasPrefix(m.First, "INVITE ") {
					invites = append(invites, m)
				}
			}
			require.Len(t, invites, 2, "challenged once, then authenticated")
			inv := invites[1]
			wantURI := fmt.Sprintf("sip:%s@127.0.0.1:%d", tc.wantURI, providerPort)
			require.Equal(t, "INVITE "+wantURI+" SIP/2.0", inv.First)
			from, _ := inv.Header("From")
			require.Contains(t, from, "<sip:"+tc.wantFrom+"@", from)
			require.Contains(t, from, `"Grace Hopper"`)
			to, _ := inv.Header("To")
			require.Contains(t, to, "<"+wantURI+">")
			pai, _ := inv.Header("P-Asserted-Identity")
			require.Contains(t, pai, "sip:"+tc.wantFrom+"@")
			rr, _ := inv.Header("Record-Route")
			require.Contains(t, rr, e.sipAddr())
			_, phoneCreds := invites[0].Header("Proxy-Authorization")
			require.False(t, phoneCreds, "the phone's credentials stop at the engine")
			creds, _ := inv.Header("Proxy-Authorization")
			requireDigest(t, creds, "acct-42", "trunk-secret", "provider.example", "8c7b2a3f61e04d5a", wantURI)
		})
	}
}

var digestParam = regexp.MustCompile(`(\w+)=(?:"([^"]*)"|([^,\s]*))`)

// requireDigest checks digest credentials (RFC 2617 §3.2.2, qop=auth) for
// an INVITE.
func requireDigest(t *testing.T, creds, user, password, realm, nonce, uri string) {
	t.Helper()
	requireDigestFor(t, "INVITE", creds, user, password, realm, nonce, uri)
}

// requireDigestFor checks digest credentials (qop=auth) for a request of
// method.
func requireDigestFor(t *testing.T, method, creds, user, password, realm, nonce, uri string) {
	t.Helper()
	require.True(t, strings.HasPrefix(creds, "Digest "), creds)
	p := map[string]string{}
	for _, m := range digestParam.FindAllStringSubmatch(creds, -1) {
		p[strings.ToLower(m[1])] = m[2] + m[3]
	}
	require.Equal(t, user, p["username"])
	require.Equal(t, realm, p["realm"])
	require.Equal(t, nonce, p["nonce"])
	require.Equal(t, uri, p["uri"])
	require.Equal(t, "auth", p["qop"])
	ha1 := md5Hex(user + ":" + realm + ":" + password)
	ha2 := md5Hex(method + ":" + uri)
	want := md5Hex(ha1 + ":" + nonce + ":" + p["nc"] + ":" + p["cnonce"] + ":auth:" + ha2)
	require.Equal(t, want, p["response"], "digest response")
}

// The deny list holds for calls to the trunk whether dialled or forwarded,
// and no INVITE reaches the provider.
func TestE2ETrunkDeniedPrefix(t *testing.T) {
	e := startEngine(t)
	e.addPhone(t, "1002", "1002a", "secret-1002a")
	provider, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	defer provider.Close()
	e.api.must(http.MethodPut, "/api/v1/trunk", map[string]any{"host": "127.0.0.1",
		"port": provider.LocalAddr().(*net.UDPAddr).Port}, http.StatusOK, nil)

	// 1003 forwards everything to London, saved before London was denied.
	e.api.createUser("1003", map[string]any{"first_name": "Alan", "last_name": "Turing"})
	var rules struct {
		AnsweringRules []struct {
			ID int64 `json:"id"`
		} `json:"answering_rules"`
	}
	e.api.must(http.MethodGet, "/api/v1/users/1003/answering-rules", nil, http.StatusOK, &rules)
	require.Len(t, rules.AnsweringRules, 1)
	e.api.must(http.MethodPatch, fmt.Sprintf("/api/v1/users/1003/answering-rules/%d", rules.AnsweringRules[0].ID),
		map[string]any{"forward_always": map[string]any{"kind": "external", "to": "+442079460958"}}, http.StatusOK, nil)
	e.api.must(http.MethodPut, "/api/v1/denied-prefixes", map[string]any{"prefixes": []any{
		map[string]any{"prefix": "+44", "note": "no calls to the UK"},
		map[string]any{"prefix": "+881", "note": "satellite"},
	}}, http.StatusOK, nil)

	for _, dialled := range []string{"+8816123456789", "011442079460958", "1003"} {
		require.Equal(t, 403, call(t, e, "1002a", "secret-1002a", dialled).Status(), dialled)
	}
	require.NoError(t, provider.SetReadDeadline(time.Now().Add(300*time.Millisecond)))
	buf := make([]byte, 2048)
	n, _, err := provider.ReadFrom(buf)
	require.Error(t, err, "the provider got: %s", buf[:n])
}

// A user who records calls calls out through the trunk: the engine calls
// the provider with an INVITE and offer of its own, answers the provider's
// challenge as that call's caller (the retry numbered on), bridges the
// baresip phone (440 Hz) with the provider's audio (600 Hz), and the
// recording holds both.
func TestE2ETrunkRecordedOutboundCall(t *testing.T) {
	requireTool(t, "sipp")
	requireTool(t, "baresip")
	t.Parallel()
	e := startEngine(t)
	e.api.createUser("1002", map[string]any{"first_name": "Grace", "record_calls": true,
		"caller_id_number": "+14155550100", "area_code": "415"})
	e.addPhone(t, "1002", "1002a", "secret-1002a")
	providerPort := freePort(t, "127.0.0.1")
	e.api.must(http.MethodPut, "/api/v1/trunk", map[string]any{"host": "127.0.0.1", "port": providerPort,
		"username": "acct-42", "password": "trunk-secret"}, http.StatusOK, nil)

	provider := make(chan sippResult, 1)
	go func() {
		provider <- runSipp(t, e.sipAddr(), sippRun{Scenario: "uas_trunk_provider_media.xml", Port: providerPort,
			User: "acct-42", Args: []string{"-mp", strconv.Itoa(freeMediaPort(t))}, Timeout: 30 * time.Second,
			Files: map[string][]byte{"tone.ulaw": media.CodecPCMU.Encode(nil, tonePCM(600, 10*time.Second))}})
	}()
	waitUDPListener(t, providerPort)

	dir := t.TempDir()
	audio := filepath.Join(dir, "caller.wav")
	require.NoError(t, os.WriteFile(audio, media.EncodeWAV(tonePCM(440, 4*time.Second)), 0o600))
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	t.Cleanup(cancel)
	caller := startBaresipPhoneWith(ctx, t, e, "1002a", "secret-1002a", "manual", "bridge_config.tmpl",
		map[string]any{"Audio": audio, "Dump": dir})
	e.api.waitRegistrations(15*time.Second, "the baresip phone", func(r []apiRegistration) bool { return len(r) == 1 })
	caller.command(t, "/dial 5550123")
	caller.waitOutput(t, 10*time.Second, "Call established: sip:5550123@"+testDomain)
	caller.waitOutput(t, 15*time.Second, "Call with sip:5550123@"+testDomain+" terminated")

	p := <-provider
	requireSippOK(t, p)
	var invites []sipMessage
	for _, m := range p.Received() {
		if strings.HasPrefix(m.First, "INVITE ") {
			invites = append(invites, m)
		}
	}
	require.Len(t, invites, 2, "challenged once, then authenticated")
	wantURI := fmt.Sprintf("sip:+14155550123@127.0.0.1:%d", providerPort)
	cseq1, _ := invites[0].Header("CSeq")
	cseq2, _ := invites[1].Header("CSeq")
	require.Equal(t, "1 INVITE", cseq1, "the engine's own call")
	require.Equal(t, "2 INVITE", cseq2, "the authenticated retry is numbered on")
	from, _ := invites[1].Header("From")
	require.Contains(t, from, "<sip:+14155550100@")
	_, rr := invites[1].Header("Record-Route")
	require.False(t, rr, "a call of the engine's own is not record-routed")
	require.Contains(t, invites[1].Raw, "\r\nm=audio ", "with the engine's offer")
	creds, _ := invites[1].Header("Proxy-Authorization")
	requireDigest(t, creds, "acct-42", "trunk-secret", "provider.example", "8c7b2a3f61e04d5a", wantURI)

	recs := e.api.waitRecordings("1002", 1, 5*time.Second)
	require.Equal(t, "+14155550123", recs[0].Callee)
	code, wav := e.api.raw(http.MethodGet, "/api/v1/recordings/"+strconv.FormatInt(recs[0].ID, 10)+"/audio", "", nil)
	require.Equal(t, http.StatusOK, code)
	pcm, err := media.ReadWAV(bytes.NewReader(wav), 0)
	require.NoError(t, err)
	require.Greater(t, toneTime(pcm, 440), 2*time.Second, "the caller in the recording")
	require.Greater(t, toneTime(pcm, 600), 2*time.Second, "the provider's side in the recording")
}
