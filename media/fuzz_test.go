package media

import (
	"bytes"
	"net/netip"
	"testing"
	"time"
)

func FuzzAnswer(f *testing.F) {
	f.Add(offerSDP("c=IN IP4 192.0.2.10", "m=audio 4000 RTP/AVP 0 8 101", "a=rtpmap:101 telephone-event/8000", "a=ptime:30"))
	f.Add(offerSDP("c=IN IP6 2001:db8::1", "m=video 5000 RTP/AVP 96", "m=audio 4000 RTP/AVP 8", "a=sendonly"))
	f.Add(offerSDP("", "m=audio 4000 RTP/AVP 97", "c=IN IP4 0.0.0.0", "a=rtpmap:97 PCMA/8000/1", "a=maxptime:10"))
	f.Add([]byte("v=0\r\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, offer []byte) {
		answer, p, err := Answer(offer, local, 30000, SDPConfig{})
		if err != nil {
			if SIPStatus(err) != 488 && SIPStatus(err) != 400 {
				t.Fatalf("error %v maps to %d", err, SIPStatus(err))
			}
			return
		}
		if p.Codec != CodecPCMU && p.Codec != CodecPCMA {
			t.Fatalf("codec %v", p.Codec)
		}
		if p.Ptime < 10*time.Millisecond || p.Ptime > 120*time.Millisecond {
			t.Fatalf("ptime %v", p.Ptime)
		}
		// What we answer, we can read back.
		if _, err := ParseAnswer(answer, SDPConfig{}); err != nil && p.Direction != DirectionInactive {
			t.Fatalf("own answer unreadable: %v\n%s", err, answer)
		}
	})
}

func FuzzReadWAV(f *testing.F) {
	tone, _ := ReadAll(Tone(1000, 20*time.Millisecond, 0.5), 0)
	f.Add(EncodeWAV(tone))
	f.Add(wavBytes(wavULaw, 1, 8000, 8, CodecPCMU.Encode(nil, tone)))
	f.Add(riff(chunk("fmt ", extensible(wavALaw, 8)), chunk("data", []byte{1, 2, 3})))
	f.Add([]byte("RIFF\xff\xff\xff\xffWAVEdata\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		pcm, err := ReadWAV(bytes.NewReader(b), 4000)
		if err == nil && len(pcm) > 4000 {
			t.Fatalf("%d samples beyond the limit", len(pcm))
		}
		if err == nil && len(pcm) > len(b) {
			t.Fatalf("%d samples from %d bytes", len(pcm), len(b))
		}
	})
}

func FuzzParseDTMFInfo(f *testing.F) {
	f.Add("application/dtmf-relay", []byte("Signal=5\r\nDuration=160\r\n"))
	f.Add("application/dtmf", []byte("11"))
	f.Fuzz(func(t *testing.T, ctype string, body []byte) {
		d, err := ParseDTMFInfo(ctype, body)
		if err == nil {
			if _, ok := EventFromDigit(d.Digit); !ok {
				t.Fatalf("digit %q", d.Digit)
			}
		}
	})
}

// Whatever arrives on the RTP port, the receive path does not panic.
func FuzzSessionPacket(f *testing.F) {
	b, _ := rtpPacketBytes(0, 1, 160, 7, ulawFrame(100))
	f.Add(b)
	b, _ = rtpPacketBytes(101, 2, 160, 7, eventPayload(5, true, 800))
	f.Add(b)
	f.Add([]byte{0x80})
	s := newTestSession(f, pcmuParams(netip.MustParseAddrPort("127.0.0.1:9")), SessionConfig{})
	sink := &pcmSink{}
	_ = s.SetSink(sink)
	from := netip.MustParseAddrPort("127.0.0.1:9")
	f.Fuzz(func(t *testing.T, pkt []byte) {
		s.handle(pkt, from)
		sink.mu.Lock()
		sink.pcm = sink.pcm[:0]
		sink.mu.Unlock()
	})
}

// Whatever arrives on a bridged leg, relaying it (audio, events, the tap)
// does not panic.
func FuzzBridgePacket(f *testing.F) {
	b, _ := rtpPacketBytes(0, 1, 160, 7, ulawFrame(100))
	f.Add(b)
	b, _ = rtpPacketBytes(101, 2, 160, 7, eventPayload(5, true, 800))
	f.Add(b)
	b, _ = rtpPacketBytes(101, 3, 480, 7, []byte{200, 0, 0})
	f.Add(b)
	discard := netip.MustParseAddrPort("127.0.0.1:9")
	a := newTestSession(f, pcmuParams(discard), SessionConfig{})
	other := newTestSession(f, Params{Codec: CodecPCMA, PayloadType: 8, DTMFPayloadType: 96, LocalDTMFPayloadType: 96, Remote: discard}, SessionConfig{})
	br, err := NewBridge(a, other, BridgeConfig{Tap: &pcmSink{fail: errTest}})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { br.Close() })
	f.Fuzz(func(t *testing.T, pkt []byte) {
		a.handle(pkt, discard)
	})
}
