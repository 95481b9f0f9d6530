package switchboard_test

// Bad input on bridged calls, and the ends of their legs. The engine
// bridges calls to a user who records them: sipp processes are the
// caller's phone (streaming RTP from packet captures) and the callee's
// phone; the callee's phone answers with an SDP that names a socket of the
// test as its audio address, so that what the engine relays to the callee
// can be counted packet by packet. The assertions read what the phones saw
// (sipp's traces), what reached the callee's audio socket, the API and the
// metrics.

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/stretchr/testify/require"

	"switchboard"
	"switchboard/media"
)

// --- the callee's audio socket ---

// rtpSink is the audio end of a callee's phone: a UDP socket on loopback,
// named in the SDP of the phone's answer, that keeps every datagram the
// engine sends it with the time it arrived. It sends nothing.
type rtpSink struct {
	conn *net.UDPConn

	mu  sync.Mutex // guards got
	got []sinkPacket
}

// sinkPacket is one datagram the sink received; RTP says whether it is an
// RTP packet, whose header and payload are then in Packet.
type sinkPacket struct {
	At   time.Time
	From netip.AddrPort
	RTP  bool
	rtp.Packet
}

func startRTPSink(t *testing.T) *rtpSink {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	s := &rtpSink{conn: conn}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65535)
		for {
			n, from, err := conn.ReadFromUDPAddrPort(buf)
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if err != nil {
				continue
			}
			p := sinkPacket{At: time.Now(), From: from}
			p.RTP = p.Unmarshal(slices.Clone(buf[:n])) == nil && p.Version == 2
			s.mu.Lock()
			s.got = append(s.got, p)
			s.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		conn.Close()
		<-done
	})
	return s
}

func (s *rtpSink) port() int { return s.conn.LocalAddr().(*net.UDPAddr).Port }

// packets returns the RTP packets received so far of payload type pt.
func (s *rtpSink) packets(pt uint8) []sinkPacket {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []sinkPacket
	for _, p := range s.got {
		if p.RTP && p.PayloadType == pt {
			out = append(out, p)
		}
	}
	return out
}

// all returns every datagram received so far.
func (s *rtpSink) all() []sinkPacket {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got)
}

// pcmOf decodes the payloads of µ-law packets in order.
func pcmOf(packets []sinkPacket) []int16 {
	var pcm []int16
	for _, p := range packets {
		pcm = media.CodecPCMU.Decode(pcm, p.Payload)
	}
	return pcm
}

// heardDigit is one RFC 4733 event the callee received: the packets with
// one timestamp.
type heardDigit struct {
	Code    uint8
	Start   time.Time // the first packet's arrival
	Packets int
	Ended   bool // an end packet came
}

// digitsOf groups event packets into events, in the order they started.
func digitsOf(events []sinkPacket) []heardDigit {
	var out []heardDigit
	index := map[uint32]int{}
	for _, p := range events {
		if len(p.Payload) < 4 {
			continue
		}
		i, ok := index[p.Timestamp]
		if !ok {
			i = len(out)
			index[p.Timestamp] = i
			out = append(out, heardDigit{Code: p.Payload[0], Start: p.At})
		}
		out[i].Packets++
		if p.Payload[1]&0x80 != 0 {
			out[i].Ended = true
		}
	}
	return out
}

// --- SDP ---

// sdpLines is an SDP body of the lines given.
func sdpLines(lines ...string) []byte { return []byte(strings.Join(lines, "\r\n") + "\r\n") }

// sinkAnswer is a callee's answer that sends its audio to the sink: PCMU
// and telephone-event, as offered.
func sinkAnswer(port int) []byte {
	return sdpLines("v=0", "o=callee 7 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
		fmt.Sprintf("m=audio %d RTP/AVP 0 101", port), "a=rtpmap:0 PCMU/8000",
		"a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-15", "a=ptime:20", "a=sendrecv")
}

// g729SDP is an SDP of G.729 alone, a codec the engine does not have.
func g729SDP(port int) []byte {
	return sdpLines("v=0", "o=phone 3 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
		fmt.Sprintf("m=audio %d RTP/AVP 18", port), "a=rtpmap:18 G729/8000", "a=fmtp:18 annexb=no", "a=sendrecv")
}

// garbageSDP is a body sent as application/sdp that is no session
// description.
var garbageSDP = []byte("v=9\r\nthis is not a session description\r\nm=audio many RTP/AVP zero\r\n\x01\x02\x03\xff\xfe\r\n")

// sdpField returns the value of the first line of an SDP body in a SIP
// message that starts with prefix ("o=", "m=audio ").
func sdpField(t *testing.T, m sipMessage, prefix string) string {
	t.Helper()
	_, body, _ := strings.Cut(m.Raw, "\r\n\r\n")
	for line := range strings.SplitSeq(body, "\r\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			return v
		}
	}
	t.Fatalf("no %q line in the SDP of:\n%s", prefix, m.Raw)
	return ""
}

// --- engine and phones ---

// startBridgeEngine starts an engine where user 1001 records its calls
// (so that calls to it are bridged) and has no voicemail (so that a
// failed call fails for the caller), with phone 1001a registered from a
// port of its own (the run returned answers there); 1002a, a phone of
// 1002, calls.
func startBridgeEngine(t *testing.T, opts ...func(*switchboard.Config)) (*testEngine, sippRun) {
	t.Helper()
	requireTool(t, "sipp")
	e := startEngine(t, opts...)
	e.api.createUser("1001", map[string]any{"first_name": "Ada", "last_name": "Lovelace",
		"record_calls": true, "voicemail_enabled": false})
	callee := e.registerPhone(t, "1001", "1001a")
	e.addPhone(t, "1002", "1002a", "secret-1002a")
	callee.Args = []string{"-mp", strconv.Itoa(freeMediaPort(t))}
	callee.Timeout = 30 * time.Second
	return e, callee
}

// answerWith starts the callee's phone on scenario, answering with answer;
// hold is the pause -d sets (how long uas_bridge_hangup.xml talks).
func (e *testEngine) answerWith(t *testing.T, callee sippRun, scenario string, answer []byte, hold time.Duration) *sippPhone {
	t.Helper()
	callee.Files = map[string][]byte{"answer.sdp": answer}
	callee.Args = append(slices.Clone(callee.Args), "-d", strconv.FormatInt(hold.Milliseconds(), 10))
	return e.answer(t, callee, scenario)
}

// bridgedCaller is 1002a calling 1001 with scenario, streaming capture
// from the answer on; talk is the pause -d sets.
func bridgedCaller(t *testing.T, scenario string, capture *rtpCapture, talk time.Duration, files map[string][]byte) sippRun {
	t.Helper()
	all := map[string][]byte{"capture.pcap": capture.bytes()}
	for k, v := range files {
		all[k] = v
	}
	r := mediaCall(t, scenario, "1002a", "1001", all)
	r.Args = append(r.Args, "-d", strconv.FormatInt(talk.Milliseconds(), 10))
	return r
}

// refusedCaller is 1002a calling 1001 with uac_bridge_refused.xml, which
// wants 488, offering offer.
func refusedCaller(t *testing.T, e *testEngine, offer []byte) sippResult {
	t.Helper()
	res := runSipp(t, e.sipAddr(), sippRun{Scenario: "uac_bridge_refused.xml", User: "1002a", Password: "secret-1002a",
		Keys: map[string]string{"dialled": "1001"}, Args: []string{"-mp", strconv.Itoa(freeMediaPort(t))},
		Files: map[string][]byte{"offer.sdp": offer}})
	requireSippOK(t, res)
	return res
}

// toneCapture is a caller's stream of d of a tone at freq.
func toneCapture(t *testing.T, freq float64, d time.Duration) *rtpCapture {
	c := newRTPCapture(t)
	c.audio(0, tonePCM(freq, d), nil)
	return c
}

// bridgeCallStats reads the counters of the "bridged call ended" line the
// engine logs for its one bridged call (a_to_b, b_to_a, dtmf, ...).
func bridgeCallStats(t *testing.T, e *testEngine) map[string]int {
	t.Helper()
	return loggedCounters(t, e, "bridged call ended")
}

// requireStream requires that the callee got the caller's audio stream of
// sent packets, in full but for the very first one or two: the engine
// starts relaying once the caller's ACK is in, and the caller's phone
// starts streaming as it sends the ACK. Nothing more than the caller sent
// reaches the callee, and what the engine counts as relayed is what the
// callee got.
func requireStream(t *testing.T, e *testEngine, got []sinkPacket, sent int) {
	t.Helper()
	require.LessOrEqual(t, len(got), sent, "no more than the caller sent")
	require.GreaterOrEqual(t, len(got), sent-2, "the caller's stream reached the callee")
	require.Equal(t, len(got), bridgeCallStats(t, e)["a_to_b"], "relayed as counted")
	require.EqualValues(t, len(got), e.api.metric("switchboard_bridge_packets_relayed_total"))
}

// requireNothingRecorded requires that no recording was filed for 1001,
// nor left in the data directory, and that no bridge runs.
func requireNothingRecorded(t *testing.T, e *testEngine) {
	t.Helper()
	// A recording is filed just after its call ends: give it the time.
	time.Sleep(300 * time.Millisecond)
	var list apiRecordingList
	e.api.must(http.MethodGet, "/api/v1/recordings?extension=1001", nil, http.StatusOK, &list)
	require.Empty(t, list.Recordings)
	require.Zero(t, countFiles(t, e.cfg.DataDir), "no recording, no audio")
	require.Zero(t, e.api.metric("switchboard_bridges_active"))
	require.Zero(t, e.api.metric("switchboard_bridge_packets_relayed_total"))
}

// requireRecording requires one recording of the call from 1002 to 1001,
// about want long, that holds the caller's tone at freq, sent for tone.
func requireRecording(t *testing.T, e *testEngine, want time.Duration, freq float64, tone time.Duration) []int16 {
	t.Helper()
	recs := e.api.waitRecordings("1001", 1, 5*time.Second)
	r := recs[0]
	require.Equal(t, "1002", r.CallerNumber)
	require.Equal(t, "1001", r.Callee)
	require.InDelta(t, want.Seconds(), float64(r.DurationS), 1.5)
	code, wav := e.api.raw(http.MethodGet, "/api/v1/recordings/"+strconv.FormatInt(r.ID, 10)+"/audio", "", nil)
	require.Equal(t, http.StatusOK, code)
	pcm, err := media.ReadWAV(bytes.NewReader(wav), 0)
	require.NoError(t, err)
	heard := toneTime(pcm, freq)
	t.Logf("recording: %v, %v Hz for %v (sent for %v)", media.Duration(len(pcm)), freq, heard, tone)
	require.Greater(t, heard, tone-300*time.Millisecond, "the caller's tone is in the recording")
	return pcm
}

// requireNotAcceptable requires that m is a 488 Not Acceptable Here whose
// To tag is the one of every response the engine sent before it for the
// same INVITE (its 180 for a bridged call), as RFC 3261 §8.2.6.2 has a
// user agent server do.
func requireNotAcceptable(t *testing.T, r sippResult, m sipMessage) {
	t.Helper()
	require.Equal(t, "SIP/2.0 488 Not Acceptable Here", m.First)
	to, _ := m.Header("To")
	_, tag, ok := strings.Cut(to, ";tag=")
	require.True(t, ok, "a tag in %q", to)
	cseq, _ := m.Header("CSeq")
	for _, o := range r.Received() {
		if c, _ := o.Header("CSeq"); c == cseq && o.Status() > 100 && o.Status() < 200 {
			oto, _ := o.Header("To")
			require.True(t, strings.HasSuffix(oto, ";tag="+tag), "the %s has To %q, the 488 %q", o.First, oto, to)
		}
	}
}

// --- the tests ---

// A caller whose offer has no codec in common with the engine (G.729
// only) is refused with 488 before anything rings: the callee's phone
// gets no INVITE, nothing is recorded, and the next call, with a good
// offer, rings the same phone, is bridged and recorded.
func TestE2EBridgeCallerOfferNoCommonCodec(t *testing.T) {
	requireRawSockets(t)
	t.Parallel()
	e, callee := startBridgeEngine(t)
	sink := startRTPSink(t)
	phone := e.answerWith(t, callee, "uas_bridge_answer.xml", sinkAnswer(sink.port()), 0)

	bad := refusedCaller(t, e, g729SDP(40000))
	require.Equal(t, []int{407, 488}, finalCodes(bad))
	for _, m := range bad.Received() {
		require.NotEqual(t, 180, m.Status(), "nothing rang for the refused call")
	}
	requireNotAcceptable(t, bad, bad.LastReceived(t))
	refused := findResponse(t, bad, false, 488, "INVITE").At
	requireNothingRecorded(t, e)
	waitMetric(t, e, 2*time.Second, 0, "switchboard_sip_calls_in_progress")

	// The server goes on serving: a call with a good offer gets through.
	const talk = 2 * time.Second
	capture := toneCapture(t, 440, talk)
	good := runSipp(t, e.sipAddr(), bridgedCaller(t, "uac_bridge_call.xml", capture, talk+800*time.Millisecond, nil))
	requireSippOK(t, good)
	require.Equal(t, []int{407, 200}, finalCodes(good))

	res := phone.result(t)
	invite := onlyRequest(t, res, "INVITE")
	require.True(t, invite.At.After(refused), "the phone rang once, for the good call (at %v, the 488 at %v)", invite.At, refused)
	requireRecording(t, e, talk+800*time.Millisecond, 440, talk)
	waitMetric(t, e, 2*time.Second, 0, "switchboard_bridges_active")
	requireStream(t, e, sink.packets(0), capture.valid)
}

// The callee's phone answers with an SDP the engine cannot use (no codec
// in common with its offer, or a body that is no SDP): the engine takes
// the 200 (ACK) and hangs that phone up (BYE) at once, and the caller
// gets 488, not a call without audio; nothing is bridged or recorded.
func TestE2EBridgeCalleeAnswerUnusable(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer []byte
	}{
		{"no common codec", g729SDP(freeMediaPort(t))},
		{"garbage SDP", garbageSDP},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, callee := startBridgeEngine(t)
			phone := e.answerWith(t, callee, "uas_bridge_answer.xml", tc.answer, 0)
			offer := sdpLines("v=0", "o=caller 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
				"m=audio 40000 RTP/AVP 0 101", "a=rtpmap:0 PCMU/8000", "a=rtpmap:101 telephone-event/8000", "a=sendrecv")
			caller := refusedCaller(t, e, offer)
			require.Equal(t, []int{407, 488}, finalCodes(caller))

			res := phone.result(t)
			invite := onlyRequest(t, res, "INVITE")
			ok := findResponse(t, res, true, 200, "INVITE")
			ack := onlyRequest(t, res, "ACK")
			bye := onlyRequest(t, res, "BYE")
			require.False(t, ack.At.Before(ok.At), "ACK after the 200")
			require.False(t, bye.At.Before(ack.At), "BYE after the ACK")
			require.Less(t, bye.At.Sub(ok.At), 2*time.Second, "hung up at once")
			inviteID, _ := invite.Header("Call-ID")
			byeID, _ := bye.Header("Call-ID")
			require.Equal(t, inviteID, byeID, "the BYE ends the phone's call")
			from, _ := bye.Header("From")
			require.Contains(t, from, ";tag=sba", "the BYE comes from the engine's side of the dialog")
			// The caller heard the phone ring, then 488 once its answer
			// turned out unusable.
			refused := findResponse(t, caller, false, 488, "INVITE")
			requireNotAcceptable(t, caller, refused)
			require.Empty(t, receivedRequests(caller, "BYE"), "the caller was never connected")
			var rang bool
			for _, m := range caller.Received() {
				rang = rang || m.Status() == 180
			}
			require.True(t, rang, "the caller heard the phone ring")
			require.False(t, refused.At.Before(ok.At.Add(-timingSlack)), "the 488 follows the phone's answer")

			requireNothingRecorded(t, e)
			waitMetric(t, e, 2*time.Second, 0, "switchboard_sip_calls_in_progress")
		})
	}
}

// In the middle of a bridged call the caller re-INVITEs with a body that
// is no SDP, then with an SDP of G.729 alone: the engine answers 400 and
// 488 and the call goes on as it was: an OPTIONS and then a re-INVITE with
// a good offer get 200 (the answer's version one up from the first
// answer, the same audio port), the audio keeps reaching the callee all
// along, the caller's BYE ends the call and the recording is filed.
func TestE2EBridgeBadReoffer(t *testing.T) {
	requireRawSockets(t)
	t.Parallel()
	e, callee := startBridgeEngine(t)
	sink := startRTPSink(t)
	phone := e.answerWith(t, callee, "uas_bridge_answer.xml", sinkAnswer(sink.port()), 0)

	// The caller streams 3 s; the bad re-INVITEs come 1 s and 1.3 s after
	// the answer, the good one about 2.1 s after it, the BYE about 4.1 s
	// after.
	const streamed = 3 * time.Second
	capture := toneCapture(t, 440, streamed)
	r := bridgedCaller(t, "uac_bridge_reinvite.xml", capture, 2*time.Second,
		map[string][]byte{"garbage.sdp": garbageSDP, "g729.sdp": g729SDP(40000)})
	caller := runSipp(t, e.sipAddr(), r)
	requireSippOK(t, caller)

	var answers []sipMessage // the 200s to the caller's INVITEs
	for _, m := range caller.Received() {
		if m.Status() == 200 && cseqMethod(m) == "INVITE" {
			answers = append(answers, m)
		}
	}
	require.Len(t, answers, 2, "the call and the good re-INVITE answered:\n%s", caller.dump())
	garbled := findResponse(t, caller, false, 400, "INVITE")
	require.Equal(t, "SIP/2.0 400 Bad Request", garbled.First)
	cseq, _ := garbled.Header("CSeq")
	require.Equal(t, "3 INVITE", cseq)
	refused := findResponse(t, caller, false, 488, "INVITE")
	require.Equal(t, "SIP/2.0 488 Not Acceptable Here", refused.First)
	cseq, _ = refused.Header("CSeq")
	require.Equal(t, "4 INVITE", cseq)
	// The answer to the good re-offer: the same session, its version one
	// up (the bad one changed nothing), the same audio port.
	first, again := strings.Fields(sdpField(t, answers[0], "o=")), strings.Fields(sdpField(t, answers[1], "o="))
	require.Len(t, again, 6)
	require.Equal(t, first[1], again[1], "the same session ID")
	v1, err := strconv.Atoi(first[2])
	require.NoError(t, err)
	require.Equal(t, strconv.Itoa(v1+1), again[2], "the version counts the answers that changed the session")
	require.Equal(t, sdpField(t, answers[0], "m=audio "), sdpField(t, answers[1], "m=audio "))

	// The audio went on reaching the callee across both re-INVITEs.
	audio := sink.packets(0)
	var before, between, after int
	for _, p := range audio {
		switch {
		case p.At.Before(garbled.At):
			before++
		case p.At.Before(answers[1].At):
			between++
		default:
			after++
		}
	}
	t.Logf("audio at the callee: %d packets before the 400, %d between it and the good re-INVITE's 200, %d after", before, between, after)
	require.Greater(t, between, 30, "relayed after the bad re-INVITEs")
	require.Greater(t, after, 20, "relayed after the good re-INVITE")

	res := phone.result(t)
	onlyRequest(t, res, "INVITE") // the re-INVITEs were the engine's to answer
	onlyRequest(t, res, "BYE")
	waitMetric(t, e, 2*time.Second, 0, "switchboard_bridges_active")
	requireStream(t, e, audio, capture.valid)
	requireRecording(t, e, 4100*time.Millisecond, 440, streamed)
}

// freeRTPPair returns an even port p with p and p+2 free for UDP on every
// address, for an engine whose RTP ports are those two.
func freeRTPPair(t *testing.T) int {
	t.Helper()
	for range 50 {
		p := freeRTPPort(t)
		c, err := net.ListenPacket("udp4", ":"+strconv.Itoa(p+2))
		if err == nil {
			c.Close()
			return p
		}
	}
	t.Fatal("no two free even UDP ports")
	return 0
}

// During a bridged call, datagrams reach the caller's audio port from
// sources other than the caller's phone: good RTP (another stream, a
// 1 kHz tone and keys), from another port of the caller's host and from
// another address, and garbage. None of it reaches the callee, who gets
// the caller's stream exactly; the call goes on and the recording holds
// the caller's tone alone.
func TestE2EBridgeRTPFromStranger(t *testing.T) {
	requireRawSockets(t)
	t.Parallel()
	// Two RTP ports: the caller's side of the call takes one, the
	// callee's the other.
	ports := freeRTPPair(t)
	e, callee := startBridgeEngine(t, func(c *switchboard.Config) { c.RTPPorts = fmt.Sprintf("%d-%d", ports, ports+2) })
	sink := startRTPSink(t)
	phone := e.answerWith(t, callee, "uas_bridge_answer.xml", sinkAnswer(sink.port()), 0)

	const streamed = 3 * time.Second
	capture := toneCapture(t, 440, streamed)

	// Once the caller's audio flows (the callee hears it: the engine has
	// taken the caller's phone as its source), strangers send to the
	// caller's port until half a second before the caller's stream ends.
	type sprayResult struct {
		sent     int
		err      error
		target   int
		fromPort int // the engine's port the callee's audio came from
	}
	sprayed := make(chan sprayResult, 1)
	go func() {
		var res sprayResult
		defer func() { sprayed <- res }()
		deadline := time.Now().Add(20 * time.Second)
		for len(sink.packets(0)) < 10 {
			if time.Now().After(deadline) {
				res.err = errors.New("no audio reached the callee")
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		res.fromPort = int(sink.packets(0)[0].From.Port())
		res.target = ports
		if res.fromPort == ports {
			res.target = ports + 2
		}
		var conns []*net.UDPConn
		for _, ip := range []string{"127.0.0.1", "127.0.0.2"} {
			c, err := net.DialUDP("udp4", &net.UDPAddr{IP: net.ParseIP(ip)}, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: res.target})
			if err != nil {
				res.err = err
				return
			}
			defer c.Close()
			conns = append(conns, c)
		}
		tone := media.CodecPCMU.Encode(nil, tonePCM(1000, 20*time.Millisecond))
		rng := rand.New(rand.NewPCG(4733, 1))
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		stop := sink.packets(0)[0].At.Add(streamed - 500*time.Millisecond)
		for i := 0; time.Now().Before(stop); i++ {
			<-tick.C
			var b []byte
			switch i % 4 {
			case 0, 1:
				p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: uint16(i),
					Timestamp: uint32(160 * i), SSRC: 0xbad0bad0}, Payload: tone}
				b, _ = p.Marshal()
			case 2:
				code, _ := media.EventFromDigit('9')
				p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: eventPT, Marker: true, SequenceNumber: uint16(i),
					Timestamp: uint32(160 * i), SSRC: 0xbad0bad0}, Payload: []byte{code, 10, 0, 160}}
				b, _ = p.Marshal()
			default:
				b = garbage(rng)
			}
			if _, err := conns[i%2].Write(b); err == nil {
				res.sent++
			}
		}
	}()

	caller := runSipp(t, e.sipAddr(), bridgedCaller(t, "uac_bridge_call.xml", capture, streamed+800*time.Millisecond, nil))
	spray := <-sprayed
	requireSippOK(t, caller)
	require.NoError(t, spray.err)
	t.Logf("strangers sent %d datagrams to port %d; the callee's audio came from port %d", spray.sent, spray.target, spray.fromPort)
	require.Greater(t, spray.sent, 300, "the strangers sent while the caller streamed")

	audio := sink.packets(0)
	require.Zero(t, len(sink.packets(eventPT)), "no stranger's key reached the callee")
	for _, p := range sink.all() {
		require.True(t, p.RTP, "only RTP reached the callee")
		require.Equal(t, audio[0].SSRC, p.SSRC, "one stream")
		require.Equal(t, spray.fromPort, int(p.From.Port()))
	}
	callerPCM := tonePCM(440, streamed)
	frames := map[string]bool{}
	for i := 0; i < len(callerPCM); i += 160 {
		frames[string(media.CodecPCMU.Encode(nil, callerPCM[i:i+160]))] = true
	}
	for i, p := range audio {
		require.True(t, frames[string(p.Payload)], "packet %d the callee got is none the caller sent", i)
	}
	pcm := pcmOf(audio)
	require.Zero(t, toneTime(pcm, 1000), "the stranger's tone never reached the callee")
	require.Greater(t, toneTime(pcm, 440), streamed-100*time.Millisecond)

	onlyRequest(t, phone.result(t), "BYE")
	waitMetric(t, e, 2*time.Second, 0, "switchboard_bridges_active")
	requireStream(t, e, audio, capture.valid)
	rec := requireRecording(t, e, streamed+800*time.Millisecond, 440, streamed)
	require.Zero(t, toneTime(rec, 1000), "the stranger's tone is not in the recording")
}

// A caller floods the call with keys, by RFC 4733 events or by SIP INFO:
// the call stays up and the engine answers the caller throughout, while
// the callee gets no more than the engine passes on: event packets at 100
// a second after a burst of 25, INFO digits one at a time with a pause
// after each, eight at most waiting.
func TestE2EBridgeDTMFFlood(t *testing.T) {
	t.Run("RFC 4733", func(t *testing.T) {
		requireRawSockets(t)
		t.Parallel()
		e, callee := startBridgeEngine(t)
		sink := startRTPSink(t)
		phone := e.answerWith(t, callee, "uas_bridge_answer.xml", sinkAnswer(sink.port()), 0)

		// Audio for a second; 400 events, one a millisecond, each a new
		// press of *; audio again; a proper press of 5; audio to 3 s.
		const flood = 400
		capture := newRTPCapture(t)
		capture.audio(0, tonePCM(440, time.Second), nil)
		star, _ := media.EventFromDigit('*')
		for i := range flood {
			at := time.Second + time.Duration(i)*time.Millisecond
			capture.rtp(at, eventPT, true, timestamp(at), []byte{star, 10, 0, 160}, true)
		}
		capture.audio(1400*time.Millisecond, tonePCM(440, 800*time.Millisecond), nil)
		capture.key(2200*time.Millisecond, '5')
		capture.audio(2400*time.Millisecond, tonePCM(440, 600*time.Millisecond), nil)
		audioSent := capture.valid - flood - 8 // the key: five updates, three ends

		caller := runSipp(t, e.sipAddr(), bridgedCaller(t, "uac_bridge_call.xml", capture, 3800*time.Millisecond, nil))
		requireSippOK(t, caller) // its OPTIONS after the flood, and its BYE, answered 200

		var floodGot []sinkPacket
		var five []sinkPacket
		star5, _ := media.EventFromDigit('5')
		for _, p := range sink.packets(eventPT) {
			switch p.Payload[0] {
			case star:
				floodGot = append(floodGot, p)
			case star5:
				five = append(five, p)
			}
		}
		require.NotEmpty(t, floodGot)
		span := floodGot[len(floodGot)-1].At.Sub(floodGot[0].At)
		limit := 25 + int(100*(span+20*time.Millisecond).Seconds()) + 1
		t.Logf("flood: %d event packets sent, %d reached the callee over %v (limit %d)", flood, len(floodGot), span, limit)
		require.GreaterOrEqual(t, len(floodGot), 25, "the burst passes")
		require.LessOrEqual(t, len(floodGot), limit, "no more than 100 a second after the burst")
		require.Less(t, len(floodGot), flood/3)

		// The key pressed after the flood reaches the callee whole: its
		// five updates and its end (the repeated ends are the same packet).
		digits := digitsOf(five)
		require.Len(t, digits, 1, "the 5 is one event")
		require.True(t, digits[0].Ended)
		require.Equal(t, 6, digits[0].Packets)

		require.Equal(t, len(sink.packets(eventPT)), bridgeCallStats(t, e)["dtmf"])
		onlyRequest(t, phone.result(t), "BYE")
		waitMetric(t, e, 2*time.Second, 0, "switchboard_bridges_active")
		requireStream(t, e, sink.packets(0), audioSent) // the audio went on around the flood
		requireRecording(t, e, 3800*time.Millisecond, 440, 2400*time.Millisecond)
	})

	t.Run("SIP INFO", func(t *testing.T) {
		requireRawSockets(t)
		t.Parallel()
		e, callee := startBridgeEngine(t)
		sink := startRTPSink(t)
		phone := e.answerWith(t, callee, "uas_bridge_answer.xml", sinkAnswer(sink.port()), 0)

		// 200 INFOs, keys 1 to 4 in turn, half a second after the answer;
		// then 2.5 s for the digits that wait to be played.
		capture := toneCapture(t, 440, 4*time.Second)
		caller := runSipp(t, e.sipAddr(), bridgedCaller(t, "uac_bridge_info_flood.xml", capture, 2500*time.Millisecond, nil))
		requireSippOK(t, caller)

		var infos []sipMessage
		var oks int
		for _, m := range caller.Messages {
			switch {
			case m.Sent && isRequest(m, "INFO"):
				infos = append(infos, m)
			case !m.Sent && m.Status() == 200 && cseqMethod(m) == "INFO":
				oks++
			}
		}
		require.Equal(t, 200, len(infos), "INFO requests sent")
		require.Equal(t, 200, oks, "every INFO answered 200")
		floodTime := infos[len(infos)-1].At.Sub(infos[0].At)

		digits := digitsOf(sink.packets(eventPT))
		var keys strings.Builder
		for _, d := range digits {
			keys.WriteByte("0123456789*#ABCD"[d.Code])
		}
		limit := 9 + int(floodTime/(200*time.Millisecond)) + 1
		t.Logf("INFO flood: 200 keys over %v; the callee got %d digits (limit %d): %s", floodTime, len(digits), limit, keys.String())
		require.GreaterOrEqual(t, len(digits), 9, "the digit playing and the eight waiting are played")
		require.LessOrEqual(t, len(digits), limit)
		require.True(t, strings.HasPrefix(keys.String(), "123412341"), "the first nine keys, in order: %s", keys.String())
		for i, d := range digits {
			require.True(t, d.Ended, "digit %d played to its end", i)
			if i > 0 {
				gap := d.Start.Sub(digits[i-1].Start)
				require.GreaterOrEqual(t, gap, 180*time.Millisecond, "digit %d: 100 ms of key and 100 ms of pause before the next", i)
			}
		}

		require.Equal(t, len(sink.packets(eventPT)), bridgeCallStats(t, e)["dtmf"])
		onlyRequest(t, phone.result(t), "BYE")
		waitMetric(t, e, 2*time.Second, 0, "switchboard_bridges_active")
		requireRecording(t, e, 3200*time.Millisecond, 440, 2500*time.Millisecond)
	})
}

// The callee hangs up a bridged call: the engine answers its BYE and
// hangs up the caller; the bridge ends (switchboard_bridges_active back to
// 0, no call in progress) and the recording is filed.
func TestE2EBridgeCalleeHangsUp(t *testing.T) {
	requireRawSockets(t)
	t.Parallel()
	e, callee := startBridgeEngine(t)
	sink := startRTPSink(t)
	const talk = 2 * time.Second
	phone := e.answerWith(t, callee, "uas_bridge_hangup.xml", sinkAnswer(sink.port()), talk)

	capture := toneCapture(t, 440, talk-800*time.Millisecond)
	done := make(chan sippResult, 1)
	go func() {
		done <- runSipp(t, e.sipAddr(), bridgedCaller(t, "uac_bridge_hung_up.xml", capture, 0, nil))
	}()
	// While the call lasts, the bridge counts as active and the call is
	// in the API.
	var caller sippResult
	active, listed := 0.0, 0
	for waiting := true; waiting; {
		select {
		case caller = <-done:
			waiting = false
		case <-time.After(45 * time.Second):
			t.Fatal("the caller's sipp did not end")
		case <-time.After(20 * time.Millisecond):
			if active == 0 {
				if active = e.api.metric("switchboard_bridges_active"); active == 1 {
					listed = len(e.api.calls())
				}
			}
		}
	}
	requireSippOK(t, caller)
	require.Equal(t, 1.0, active, "switchboard_bridges_active during the call")
	require.Equal(t, 1, listed, "the call in the API during the call")

	res := phone.result(t)
	var calleeBye sipMessage
	for _, m := range res.Messages {
		if m.Sent && isRequest(m, "BYE") {
			calleeBye = m
		}
	}
	require.NotEmpty(t, calleeBye.First)
	findResponse(t, res, false, 200, "BYE")

	bye := caller.LastReceived(t)
	require.True(t, isRequest(bye, "BYE"), "the engine hangs up the caller: %s", bye.First)
	require.Len(t, receivedRequests(caller, "BYE"), 1)
	delay := bye.At.Sub(calleeBye.At)
	t.Logf("the caller's BYE came %v after the callee's", delay)
	require.Greater(t, delay, -timingSlack)
	require.Less(t, delay, time.Second)
	callID, _ := authorizedInvite(t, caller).Header("Call-ID")
	byeID, _ := bye.Header("Call-ID")
	require.Equal(t, callID, byeID)

	waitMetric(t, e, 2*time.Second, 0, "switchboard_bridges_active")
	waitMetric(t, e, 2*time.Second, 0, "switchboard_sip_calls_in_progress")
	require.Empty(t, e.api.calls())
	requireStream(t, e, sink.packets(0), capture.valid)
	requireRecording(t, e, talk, 440, talk-800*time.Millisecond)
}

// waitTCPListener waits until something accepts connections on port.
func waitTCPListener(t *testing.T, port int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on TCP port %d", port)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A bridged call over TCP on both legs: the callee's phone registered over
// TCP gets the engine's INVITE over TCP, answers, and hangs up; the
// engine's BYE reaches the caller over its own TCP connection.
func TestE2EBridgeOverTCP(t *testing.T) {
	requireRawSockets(t)
	t.Parallel()
	requireTool(t, "sipp")
	e := startEngine(t)
	e.api.createUser("1001", map[string]any{"first_name": "Ada", "record_calls": true, "voicemail_enabled": false})
	e.addPhone(t, "1001", "1001a", "secret-1001a")
	e.addPhone(t, "1002", "1002a", "secret-1002a")
	callee := sippRun{User: "1001a", Password: "secret-1001a", Expires: 300, Port: freePort(t, "127.0.0.1"), Transport: "t1"}
	e.register(t, callee)

	sink := startRTPSink(t)
	const talk = 2 * time.Second
	callee.Scenario = "uas_bridge_hangup.xml"
	callee.Files = map[string][]byte{"answer.sdp": sinkAnswer(sink.port())}
	callee.Args = []string{"-mp", strconv.Itoa(freeMediaPort(t)), "-d", strconv.FormatInt(talk.Milliseconds(), 10)}
	callee.Timeout = 30 * time.Second
	phone := make(chan sippResult, 1)
	go func() { phone <- runSipp(t, e.sipAddr(), callee) }()
	waitTCPListener(t, callee.Port)

	capture := toneCapture(t, 440, talk-800*time.Millisecond)
	caller := bridgedCaller(t, "uac_bridge_hung_up.xml", capture, 0, nil)
	caller.Transport = "t1"
	res := runSipp(t, e.sipAddr(), caller)
	requireSippOK(t, res)
	bye := res.LastReceived(t)
	require.True(t, isRequest(bye, "BYE"), "the engine hangs up the caller: %s", bye.First)

	var p sippResult
	select {
	case p = <-phone:
	case <-time.After(30 * time.Second):
		t.Fatal("the callee's sipp did not end")
	}
	requireSippOK(t, p)
	inv := onlyRequest(t, p, "INVITE")
	via, _ := inv.Header("Via")
	require.Contains(t, via, "SIP/2.0/TCP", "the engine's INVITE came over TCP")
	requireStream(t, e, sink.packets(0), capture.valid)
	requireRecording(t, e, talk, 440, talk-800*time.Millisecond)
}
