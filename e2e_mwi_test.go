package switchboard_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchboard/blob"
	"switchboard/store"
)

// subscribeMWI subscribes a phone's socket to its mailbox, answering the
// 401 with the phone's credentials, and returns the 200.
func subscribeMWI(t *testing.T, e *testEngine, c *sipConn, phone, ext, password string, expires int) sipMessage {
	t.Helper()
	ip, port := c.localAddr().IP.String(), c.localAddr().Port
	uri := fmt.Sprintf("sip:%s@%s", ext, testDomain)
	callID := "mwi-" + phone
	req := func(cseq int, authorization string) string {
		var b strings.Builder
		fmt.Fprintf(&b, "SUBSCRIBE %s SIP/2.0\r\nVia: SIP/2.0/UDP %s:%d;branch=%s;rport\r\nMax-Forwards: 70\r\n", uri, ip, port, newBranch())
		fmt.Fprintf(&b, "From: <sip:%s@%s>;tag=m%s\r\nTo: <%s>\r\nCall-ID: %s\r\nCSeq: %d SUBSCRIBE\r\n", phone, testDomain, phone, uri, callID, cseq)
		fmt.Fprintf(&b, "Contact: <sip:%s@%s:%d>\r\nEvent: message-summary\r\nAccept: application/simple-message-summary\r\nExpires: %d\r\n", phone, ip, port, expires)
		if authorization != "" {
			fmt.Fprintf(&b, "Authorization: %s\r\n", authorization)
		}
		b.WriteString("Content-Length: 0\r\n\r\n")
		return b.String()
	}
	challenge := c.exchange(req(1, ""))
	require.Equal(t, 401, challenge.Status(), challenge.First)
	h, _ := challenge.Header("WWW-Authenticate")
	realm, nonce := realmParam.FindStringSubmatch(h)[1], nonceParam.FindStringSubmatch(h)[1]
	cnonce := randomKey(8)
	resp := md5Hex(md5Hex(phone+":"+realm+":"+password) + ":" + nonce + ":00000001:" + cnonce + ":auth:" + md5Hex("SUBSCRIBE:"+uri))
	ok := c.exchange(req(2, fmt.Sprintf(`Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", algorithm=MD5, cnonce="%s", qop=auth, nc=00000001`,
		phone, realm, nonce, uri, resp, cnonce)))
	return ok
}

// nextNotify reads the next NOTIFY on a phone's socket, answers it 200 and
// returns it.
func nextNotify(t *testing.T, c *sipConn) sipMessage {
	t.Helper()
	for {
		m, ok := c.recv(3 * time.Second)
		require.True(t, ok, "a NOTIFY comes")
		if strings.HasPrefix(m.First, "NOTIFY ") {
			c.send([]byte(respond(m, 200, "OK")))
			return m
		}
	}
}

// A phone subscribed to its mailbox hears the counts at once and again
// whenever they change; a phone cannot watch another user's mailbox.
func TestE2EMessageWaiting(t *testing.T) {
	e := startEngine(t)
	e.addPhone(t, "1001", "1001a", "secret-1001a")
	e.addPhone(t, "1002", "1002a", "secret-1002a")
	phone := dialSIP(t, "127.0.0.1", e.sipAddr())

	ok := subscribeMWI(t, e, phone, "1001a", "1001", "secret-1001a", 600)
	require.Equal(t, 200, ok.Status(), ok.First)
	exp, _ := ok.Header("Expires")
	require.Equal(t, "600", exp)
	to, _ := ok.Header("To")
	require.Contains(t, to, ";tag=")
	n := nextNotify(t, phone)
	body := n.Raw[strings.Index(n.Raw, "\r\n\r\n")+4:]
	require.Contains(t, body, "Messages-Waiting: no")
	require.Contains(t, body, "Voice-Message: 0/0")
	ev, _ := n.Header("Event")
	require.Equal(t, "message-summary", ev)
	state, _ := n.Header("Subscription-State")
	require.True(t, strings.HasPrefix(state, "active;expires="), state)
	callID, _ := n.Header("Call-ID")
	require.Equal(t, "mwi-1001a", callID, "the NOTIFY belongs to the subscription's dialog")

	// A message arrives (filed as the voicemail application files it),
	// then the user saves it through the API: each change is notified.
	db, err := store.Open(context.Background(), e.cfg.DBPath)
	require.NoError(t, err)
	blobs, err := blob.NewDir(e.cfg.DataDir + "/audio")
	require.NoError(t, err)
	key := blob.NewKey("voicemail/1001", ".wav")
	_, err = blobs.Put(context.Background(), key, bytes.NewReader(toneWAV(8000, 1, 1)))
	require.NoError(t, err)
	msg, err := db.Voicemail().AddMessage(context.Background(), "1001", store.NewMessage{CallerNumber: "1002",
		ReceivedAt: time.Now(), Duration: time.Second, SizeBytes: 16044, AudioKey: key})
	require.NoError(t, err)
	require.NoError(t, db.Close())
	e.api.must(http.MethodPatch, "/api/v1/users/1001/voicemail/messages/"+strconv.FormatInt(msg.ID, 10),
		map[string]any{"folder": "saved"}, http.StatusOK, nil)
	n = nextNotify(t, phone)
	require.Contains(t, n.Raw, "Voice-Message: 0/1", "the saved message is counted as saved")
	require.Contains(t, n.Raw, "Messages-Waiting: no")
	cseq, _ := n.Header("CSeq")
	require.Equal(t, "2 NOTIFY", cseq, "NOTIFYs in one dialog count up")

	// Another user's mailbox is not this phone's to watch.
	other := dialSIP(t, "127.0.0.1", e.sipAddr())
	res := subscribeMWI(t, e, other, "1002a", "1001", "secret-1002a", 600)
	require.Equal(t, 403, res.Status(), res.First)
	_, got := other.recv(200 * time.Millisecond)
	require.False(t, got, "no NOTIFY for a refused subscription")

	// Another event package is refused.
	ip, port := other.localAddr().IP.String(), other.localAddr().Port
	bad := other.exchange(fmt.Sprintf("SUBSCRIBE sip:1002@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s:%d;branch=%s;rport\r\nMax-Forwards: 70\r\n"+
		"From: <sip:1002a@%s>;tag=x1\r\nTo: <sip:1002@%s>\r\nCall-ID: pres-1\r\nCSeq: 1 SUBSCRIBE\r\nContact: <sip:1002a@%s:%d>\r\n"+
		"Event: presence\r\nContent-Length: 0\r\n\r\n", testDomain, ip, port, newBranch(), testDomain, testDomain, ip, port))
	require.Equal(t, 489, bad.Status())
	require.Greater(t, e.api.metric("switchboard_sip_notifies_total", "result", "2xx"), 1.0)
}

// fileMessages files n new messages in the mailbox of ext behind the
// engine's back, as another engine's voicemail would.
func fileMessages(t *testing.T, dbPath, dataDir, ext string, n int) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, dbPath)
	require.NoError(t, err)
	defer db.Close()
	blobs, err := blob.NewDir(dataDir + "/audio")
	require.NoError(t, err)
	for range n {
		key := blob.NewKey("voicemail/"+ext, ".wav")
		_, err = blobs.Put(ctx, key, bytes.NewReader(toneWAV(8000, 1, 1)))
		require.NoError(t, err)
		_, err = db.Voicemail().AddMessage(ctx, ext, store.NewMessage{CallerNumber: "1002", ReceivedAt: time.Now(),
			Duration: time.Second, SizeBytes: 16044, AudioKey: key})
		require.NoError(t, err)
	}
}

// A phone that registers hears its mailbox's counts (not again on a
// refresh), and an engine that restarts tells every bound phone once; a
// subscription made before the restart gets its NOTIFY in its dialog, its
// CSeq going on from the store.
func TestE2EMessageWaitingOnRegisterAndRestart(t *testing.T) {
	cfg := testConfig(t)
	first := startEngineWith(t, cfg)
	first.addPhone(t, "1001", "1001a", "secret-1001a")
	first.addPhone(t, "1001", "1001b", "secret-1001b")
	fileMessages(t, cfg.DBPath, cfg.DataDir, "1001", 2)

	subscriber := dialSIP(t, "127.0.0.1", first.sipAddr())
	ok := subscribeMWI(t, first, subscriber, "1001b", "1001", "secret-1001b", 600)
	require.Equal(t, 200, ok.Status(), ok.First)
	n := nextNotify(t, subscriber)
	require.Contains(t, n.Raw, "Voice-Message: 2/0")
	cseq, _ := n.Header("CSeq")
	require.Equal(t, "1 NOTIFY", cseq)

	phone := dialSIP(t, "127.0.0.1", first.sipAddr())
	phone.keepMWI = true
	reg := newDigestClient(phone, "1001a", "secret-1001a")
	reg.challenge(t)
	require.Equal(t, 200, phone.exchange(reg.authorized("secret-1001a")).Status())
	n = nextNotify(t, phone)
	require.Contains(t, n.Raw, "Messages-Waiting: yes")
	require.Contains(t, n.Raw, "Voice-Message: 2/0")
	to, _ := n.Header("To")
	require.NotContains(t, to, ";tag=", "unsolicited, outside any dialog")

	// A refresh with the counts unchanged: nothing.
	require.Equal(t, 200, phone.exchange(reg.authorized("secret-1001a")).Status())
	_, got := phone.recv(500 * time.Millisecond)
	require.False(t, got, "no NOTIFY for a refresh")
	_, got = subscriber.recv(100 * time.Millisecond)
	require.False(t, got, "the subscriber hears nothing of another phone's REGISTER")
	first.stop(t)

	// The engine restarts over the same database: the bound phone and the
	// subscription each hear the counts once.
	second := startEngineWith(t, cfg)
	phone.to = second.SIPAddr().(*net.UDPAddr)
	subscriber.to = phone.to
	n = nextNotify(t, phone)
	require.Contains(t, n.Raw, "Voice-Message: 2/0")
	n = nextNotify(t, subscriber)
	require.Contains(t, n.Raw, "Voice-Message: 2/0")
	callID, _ := n.Header("Call-ID")
	require.Equal(t, "mwi-1001b", callID)
	cseq, _ = n.Header("CSeq")
	require.Equal(t, "2 NOTIFY", cseq, "the dialog's CSeq goes on")
	state, _ := n.Header("Subscription-State")
	require.True(t, strings.HasPrefix(state, "active;expires="), state)

	// Once: the phone's next REGISTER, to the new engine, adds nothing.
	reg.challenge(t)
	require.Equal(t, 200, phone.exchange(reg.authorized("secret-1001a")).Status())
	_, got = phone.recv(500 * time.Millisecond)
	require.False(t, got, "told once after the restart")
	require.GreaterOrEqual(t, second.api.metric("switchboard_sip_notifies_total", "result", "2xx"), 2.0)
}
