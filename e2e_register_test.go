package switchboard_test

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchboard"
)

// addPhone creates the user ext (if needed) and a phone of it with a known
// SIP password.
func (e *testEngine) addPhone(t *testing.T, ext, name, password string) {
	t.Helper()
	if code, _ := e.api.do(http.MethodGet, "/api/v1/users/"+ext, nil); code == http.StatusNotFound {
		e.api.createUser(ext, map[string]any{"first_name": "User", "last_name": ext})
	}
	e.api.createPhone(ext, name, password)
}

// register runs register.xml for a phone and requires it to succeed.
func (e *testEngine) register(t *testing.T, r sippRun) sippResult {
	t.Helper()
	r.Scenario = "register.xml"
	res := runSipp(t, e.sipAddr(), r)
	requireSippOK(t, res)
	if r.Port != 0 {
		// The caller runs the phone's next scenario on this port.
		absorbMWI(t, r.LocalIP, r.Port, 1500*time.Millisecond)
	}
	return res
}

// absorbMWI stands in for a sipp phone between two runs on one port: the
// message-waiting NOTIFY that follows the REGISTER of a user with voicemail
// is answered here, not by the next run, whose scenario would take it for
// the start of its call. It returns at the first such NOTIFY, or after wait
// (a retransmission comes within it when the first one found the port
// closed).
func absorbMWI(t *testing.T, ip string, port int, wait time.Duration) {
	t.Helper()
	if ip == "" {
		ip = "127.0.0.1"
	}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(ip), Port: port})
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(wait)))
	buf := make([]byte, 65535)
	for {
		n, from, err := conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		if m := parseSIPMessage(string(buf[:n]), false); isUnsolicitedMWI(m) {
			_, err := conn.WriteToUDP([]byte(respond(m, 200, "OK")), from)
			require.NoError(t, err)
			return
		}
	}
}

// contactsOf returns the Contact values of a message.
func contactsOf(m sipMessage) []string {
	var out []string
	for _, h := range m.Headers {
		if strings.EqualFold(h.Name, "Contact") || h.Name == "m" {
			out = append(out, h.Value)
		}
	}
	return out
}

func contactsByPhone(regs []apiRegistration) map[string][]string {
	out := map[string][]string{}
	for _, r := range regs {
		out[r.Phone] = append(out[r.Phone], r.Contact)
	}
	return out
}

func TestE2ERegisterDigest(t *testing.T) {
	for _, tc := range []struct {
		name, sippTransport, transport string
	}{
		{"udp", "u1", "UDP"},
		{"tcp", "t1", "TCP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := startEngine(t)
			e.addPhone(t, "1001", "1001a", "secret-1001a")

			const expires = 120
			before := time.Now()
			res := e.register(t, sippRun{Transport: tc.sippTransport, User: "1001a", Password: "secret-1001a", Expires: expires})
			after := time.Now()

			// The first REGISTER is challenged, the second is accepted, and
			// the 200 lists the binding with the lifetime granted.
			got := res.Received()
			require.Len(t, got, 2)
			require.Equal(t, 401, got[0].Status())
			ok := got[1]
			require.Equal(t, 200, ok.Status())
			contact := "sip:1001a@127.0.0.1:" + strconv.Itoa(res.Port)
			require.Equal(t, []string{"<" + contact + ">;expires=" + strconv.Itoa(expires)}, contactsOf(ok))

			regs := e.api.registrationsLen(1)
			reg := regs[0]
			require.Equal(t, "1001a", reg.Phone)
			require.Equal(t, "1001", reg.Extension)
			require.Equal(t, contact, reg.Contact)
			require.Equal(t, "127.0.0.1:"+strconv.Itoa(res.Port), reg.Source)
			require.True(t, strings.EqualFold(tc.transport, reg.Transport), "transport %q", reg.Transport)
			require.Equal(t, "sipp-test", reg.UserAgent)
			require.WithinRange(t, reg.ExpiresAt,
				before.Add(expires*time.Second-time.Second), after.Add(expires*time.Second+time.Second))

			require.Equal(t, 1.0, e.api.metric("switchboard_sip_registrations"))
			require.Equal(t, 1.0, e.api.metric("switchboard_sip_register_total", "outcome", "registered"))

			// The extension filter finds it; another extension has nothing.
			require.Equal(t, regs, e.api.registrationsOf("1001"))
			require.Empty(t, e.api.registrationsOf("1002"))
		})
	}
}

// randomKey returns n random hex digits.
func randomKey(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

func TestE2ERegisterRefused(t *testing.T) {
	e := startEngine(t)
	e.addPhone(t, "1001", "1001a", "secret-1001a")

	// Two failures: a phone that exists with a wrong password, and a phone
	// name that does not exist (of the same length, so that the answers can
	// be compared byte for byte).
	cases := []struct {
		name, user, password, reason string
	}{
		{"wrong password", "1001a", "not-the-secret", "bad_password"},
		{"unknown phone", "9009z", "secret-1001a", "unknown_user"},
	}
	finals := make([]sipMessage, len(cases))
	for i, tc := range cases {
		res := runSipp(t, e.sipAddr(), sippRun{
			Scenario: "register_fail.xml", User: tc.user, Password: tc.password,
			Keys: map[string]string{"call_key": randomKey(16)},
			Args: []string{"-cid_str", randomKey(16) + "-%u@%s"},
		})
		requireSippOK(t, res)
		got := res.Received()
		require.Len(t, got, 2, tc.name)
		require.Equal(t, 401, got[0].Status(), tc.name)
		require.Equal(t, 401, got[1].Status(), tc.name)
		finals[i] = got[1]

		sent := res.Messages[len(res.Messages)-2]
		require.True(t, sent.Sent)
		_, hasAuth := sent.Header("Authorization")
		require.True(t, hasAuth, "%s: the second REGISTER carries credentials", tc.name)
	}

	// The two refusals cannot be told apart: same status line, same
	// headers in the same order, values and whole message of the same
	// length (only the nonce and the To tag differ, at fixed lengths).
	a, b := finals[0], finals[1]
	require.Equal(t, a.First, b.First)
	require.Equal(t, "SIP/2.0 401 Unauthorized", a.First)
	require.Equal(t, headerNames(a), headerNames(b))
	for i := range a.Headers {
		require.Len(t, b.Headers[i].Value, len(a.Headers[i].Value),
			"header %s:\n%s\n%s", a.Headers[i].Name, a.Headers[i].Value, b.Headers[i].Value)
	}
	require.Len(t, b.Raw, len(a.Raw))
	auth, ok := a.Header("WWW-Authenticate")
	require.True(t, ok)
	require.Contains(t, auth, `realm="127.0.0.1"`)

	e.api.registrationsLen(0)
	require.Equal(t, 0.0, e.api.metric("switchboard_sip_registrations"))
	require.Equal(t, 2.0, e.api.metric("switchboard_sip_auth_failures_total"))
	require.Equal(t, 2.0, e.api.metric("switchboard_sip_register_total", "outcome", "auth_failed"))

	// One log line per failure, in the shape fail2ban matches.
	lines := e.logs.Lines("event=auth_failure")
	require.Len(t, lines, 2, "auth_failure lines:\n%s", strings.Join(lines, "\n"))
	for i, tc := range cases {
		require.Contains(t, lines[i], "level=WARN")
		require.Contains(t, lines[i], "user="+tc.user)
		require.Contains(t, lines[i], "src=127.0.0.1 ")
		require.Contains(t, lines[i], "reason="+tc.reason)
	}
}

func headerNames(m sipMessage) []string {
	out := make([]string, len(m.Headers))
	for i, h := range m.Headers {
		out[i] = h.Name
	}
	return out
}

func TestE2EUnregister(t *testing.T) {
	t.Run("one contact", func(t *testing.T) {
		t.Parallel()
		e := startEngine(t)
		e.addPhone(t, "1001", "1001a", "secret-1001a")
		res := e.register(t, sippRun{User: "1001a", Password: "secret-1001a"})
		e.api.registrationsLen(1)

		un := runSipp(t, e.sipAddr(), sippRun{
			Scenario: "unregister.xml", User: "1001a", Password: "secret-1001a",
			Keys: map[string]string{"contact": fmt.Sprintf("<sip:1001a@127.0.0.1:%d>", res.Port)},
		})
		requireSippOK(t, un)
		final := un.LastReceived(t)
		require.Equal(t, 200, final.Status())
		require.Empty(t, contactsOf(final), "a 200 to an un-REGISTER of the last contact lists none")

		e.api.registrationsLen(0)
		require.Equal(t, 0.0, e.api.metric("switchboard_sip_registrations"))
		require.Equal(t, 1.0, e.api.metric("switchboard_sip_register_total", "outcome", "unregistered"))
	})

	t.Run("wildcard", func(t *testing.T) {
		t.Parallel()
		e := startEngine(t)
		e.addPhone(t, "1001", "1001a", "secret-1001a")
		e.addPhone(t, "1001", "1001b", "secret-1001b")
		for range 2 {
			e.register(t, sippRun{User: "1001a", Password: "secret-1001a"})
		}
		other := e.register(t, sippRun{User: "1001b", Password: "secret-1001b"})
		e.api.registrationsLen(3)

		un := runSipp(t, e.sipAddr(), sippRun{
			Scenario: "unregister.xml", User: "1001a", Password: "secret-1001a",
			Keys: map[string]string{"contact": "*"},
		})
		requireSippOK(t, un)
		final := un.LastReceived(t)
		require.Equal(t, 200, final.Status())
		require.Empty(t, contactsOf(final))

		// Every binding of 1001a went; the other phone of the user stays.
		regs := e.api.registrationsLen(1)
		require.Equal(t, "1001b", regs[0].Phone)
		require.Equal(t, fmt.Sprintf("sip:1001b@127.0.0.1:%d", other.Port), regs[0].Contact)
		require.Equal(t, 1.0, e.api.metric("switchboard_sip_registrations"))
	})
}

func TestE2ERegistrationExpires(t *testing.T) {
	t.Parallel()
	e := startEngine(t) // MinExpires is 1 s
	e.addPhone(t, "1001", "1001a", "secret-1001a")

	res := e.register(t, sippRun{User: "1001a", Password: "secret-1001a", Expires: 2})
	registered := time.Now()
	require.Equal(t, []string{fmt.Sprintf("<sip:1001a@127.0.0.1:%d>;expires=2", res.Port)}, contactsOf(res.LastReceived(t)))
	e.api.registrationsLen(1)

	e.api.waitRegistrations(5*time.Second, "empty", func(r []apiRegistration) bool { return len(r) == 0 })
	require.GreaterOrEqual(t, time.Since(registered), time.Second, "a 2 s registration went early")

	// The in-memory table expires on its own sweep, within a second more.
	deadline := time.Now().Add(3 * time.Second)
	for e.api.metric("switchboard_sip_registrations") != 0 {
		require.True(t, time.Now().Before(deadline), "switchboard_sip_registrations still counts the expired binding")
		time.Sleep(50 * time.Millisecond)
	}
}

func TestE2ERegisterTooBrief(t *testing.T) {
	t.Parallel()
	e := startEngine(t, func(c *switchboard.Config) { c.SIP.MinExpires = 60 * time.Second })
	e.addPhone(t, "1001", "1001a", "secret-1001a")

	res := runSipp(t, e.sipAddr(), sippRun{
		Scenario: "register_too_brief.xml", User: "1001a", Password: "secret-1001a", Expires: 10,
	})
	requireSippOK(t, res)
	final := res.LastReceived(t)
	require.Equal(t, "SIP/2.0 423 Interval Too Brief", final.First)
	min, ok := final.Header("Min-Expires")
	require.True(t, ok, "423 without Min-Expires")
	require.Equal(t, "60", min)
	require.Contains(t, res.Log, "min-expires 60")

	e.api.registrationsLen(0)
	require.Equal(t, 1.0, e.api.metric("switchboard_sip_register_total", "outcome", "interval_too_brief"))

	// The minimum itself is accepted.
	e.register(t, sippRun{User: "1001a", Password: "secret-1001a", Expires: 60})
	e.api.registrationsLen(1)
}

func TestE2ERestartKeepsBindings(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	first := startEngineWith(t, cfg)
	first.addPhone(t, "1001", "1001a", "secret-1001a")
	first.register(t, sippRun{User: "1001a", Password: "secret-1001a", Expires: 300})
	before := first.api.registrationsLen(1)
	first.stop(t)

	second := startEngineWith(t, cfg)
	// Read before any change: the list is what was saved before the stop.
	after := second.api.registrations()
	require.Len(t, after, 1)
	require.Equal(t, before[0].Phone, after[0].Phone)
	require.Equal(t, before[0].Extension, after[0].Extension)
	require.Equal(t, before[0].Contact, after[0].Contact)
	require.Equal(t, before[0].Source, after[0].Source)
	require.True(t, before[0].ExpiresAt.Equal(after[0].ExpiresAt),
		"expiry changed over the restart: %v, then %v", before[0].ExpiresAt, after[0].ExpiresAt)
	// The restored binding is live in the registrar, not only in the
	// database.
	require.Equal(t, 1.0, second.api.metric("switchboard_sip_registrations"))

	// A binding written just before the stop (within the write-behind
	// interval) survives too.
	second.register(t, sippRun{User: "1001a", Password: "secret-1001a", Expires: 300})
	second.stop(t)
	third := startEngineWith(t, cfg)
	third.api.registrationsLen(2)
}

func TestE2ESeveralContactsAndPhones(t *testing.T) {
	t.Parallel()
	e := startEngine(t, func(c *switchboard.Config) { c.SIP.MaxContactsPerPhone = 2 })
	e.addPhone(t, "1001", "1001a", "secret-1001a")
	e.addPhone(t, "1001", "1001b", "secret-1001b")
	e.addPhone(t, "1002", "1002a", "secret-1002a")

	// Two phones of one user, each from its own port, bind under the
	// user's extension.
	a := e.register(t, sippRun{User: "1001a", Password: "secret-1001a"})
	b := e.register(t, sippRun{User: "1001b", Password: "secret-1001b"})
	e.register(t, sippRun{User: "1002a", Password: "secret-1002a"})
	e.api.registrationsLen(3)
	byExt := e.api.registrationsOf("1001")
	require.Equal(t, map[string][]string{
		"1001a": {fmt.Sprintf("sip:1001a@127.0.0.1:%d", a.Port)},
		"1001b": {fmt.Sprintf("sip:1001b@127.0.0.1:%d", b.Port)},
	}, contactsByPhone(byExt))
	for _, r := range byExt {
		require.Equal(t, "1001", r.Extension)
	}

	// 1001a binds two more contacts: the limit is two, so its first one
	// is replaced; the other phones keep theirs.
	port := func() string { return "127.0.0.1:" + strconv.Itoa(freePort(t, "127.0.0.1")) }
	c2, c3 := port(), port()
	e.register(t, sippRun{User: "1001a", Password: "secret-1001a", Contact: c2})
	third := e.register(t, sippRun{User: "1001a", Password: "secret-1001a", Contact: c3})
	require.ElementsMatch(t, []string{
		"<sip:1001a@" + c2 + ">;expires=60",
		"<sip:1001a@" + c3 + ">;expires=60",
	}, contactsOf(third.LastReceived(t)))

	want := []string{"sip:1001a@" + c2, "sip:1001a@" + c3}
	regs := e.api.waitRegistrations(2*time.Second, "holding 1001a's last two contacts", func(r []apiRegistration) bool {
		return len(r) == 4 && len(contactsByPhone(r)["1001a"]) == 2 &&
			slices.Contains(contactsByPhone(r)["1001a"], want[0]) && slices.Contains(contactsByPhone(r)["1001a"], want[1])
	})
	got := contactsByPhone(regs)
	require.ElementsMatch(t, want, got["1001a"])
	require.Equal(t, []string{fmt.Sprintf("sip:1001b@127.0.0.1:%d", b.Port)}, got["1001b"])
	require.Len(t, got["1002a"], 1)
	require.Equal(t, 4.0, e.api.metric("switchboard_sip_registrations"))
}

// hostPort joins an IP and a port.
func hostPort(ip string, port int) string { return net.JoinHostPort(ip, strconv.Itoa(port)) }
