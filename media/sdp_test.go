package media

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/stretchr/testify/require"
)

// offerSDP builds an offer from its session-level connection line and the
// lines of its media section(s).
func offerSDP(conn string, media ...string) []byte {
	var b strings.Builder
	b.WriteString("v=0\r\no=- 123 1 IN IP4 192.0.2.10\r\ns=-\r\n")
	if conn != "" {
		b.WriteString(conn + "\r\n")
	}
	b.WriteString("t=0 0\r\n")
	for _, m := range media {
		b.WriteString(m + "\r\n")
	}
	return []byte(b.String())
}

var local = netip.MustParseAddr("198.51.100.1")

func TestAnswer(t *testing.T) {
	ip4 := "c=IN IP4 192.0.2.10"
	tests := []struct {
		name  string
		offer []byte
		want  Params
		// lines the answer must contain, and must not
		has, hasNot []string
	}{
		{
			name:   "PCMU only",
			offer:  offerSDP(ip4, "m=audio 4000 RTP/AVP 0", "a=rtpmap:0 PCMU/8000"),
			want:   Params{Codec: CodecPCMU, PayloadType: 0, Ptime: 20 * time.Millisecond, Remote: netip.MustParseAddrPort("192.0.2.10:4000"), Direction: DirectionSendRecv},
			has:    []string{"m=audio 30000 RTP/AVP 0\r\n", "a=rtpmap:0 PCMU/8000", "a=ptime:20", "a=sendrecv", "c=IN IP4 198.51.100.1"},
			hasNot: []string{"telephone-event"},
		},
		{
			name:  "PCMA only, static type without rtpmap",
			offer: offerSDP(ip4, "m=audio 4000 RTP/AVP 8"),
			want:  Params{Codec: CodecPCMA, PayloadType: 8, Ptime: 20 * time.Millisecond, Remote: netip.MustParseAddrPort("192.0.2.10:4000"), Direction: DirectionSendRecv},
			has:   []string{"m=audio 30000 RTP/AVP 8\r\n", "a=rtpmap:8 PCMA/8000"},
		},
		{
			name:  "PCMU then PCMA picks PCMU",
			offer: offerSDP(ip4, "m=audio 4000 RTP/AVP 0 8 101", "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-16"),
			want:  Params{Codec: CodecPCMU, PayloadType: 0, DTMFPayloadType: 101, LocalDTMFPayloadType: 101, Ptime: 20 * time.Millisecond, Remote: netip.MustParseAddrPort("192.0.2.10:4000"), Direction: DirectionSendRecv},
			has:   []string{"m=audio 30000 RTP/AVP 0 101\r\n", "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-15"},
		},
		{
			name:  "PCMA then PCMU picks PCMA",
			offer: offerSDP(ip4, "m=audio 4000 RTP/AVP 9 8 0 101", "a=rtpmap:101 telephone-event/8000"),
			want:  Params{Codec: CodecPCMA, PayloadType: 8, DTMFPayloadType: 101, LocalDTMFPayloadType: 101, Ptime: 20 * time.Millisecond, Remote: netip.MustParseAddrPort("192.0.2.10:4000"), Direction: DirectionSendRecv},
			has:   []string{"m=audio 30000 RTP/AVP 8 101\r\n"},
		},
		{
			name:  "telephone-event on 96",
			offer: offerSDP(ip4, "m=audio 4000 RTP/AVP 0 96", "a=rtpmap:96 telephone-event/8000", "a=fmtp:96 0-15"),
			want:  Params{Codec: CodecPCMU, PayloadType: 0, DTMFPayloadType: 96, LocalDTMFPayloadType: 96, Ptime: 20 * time.Millisecond, Remote: netip.MustParseAddrPort("192.0.2.10:4000"), Direction: DirectionSendRecv},
			has:   []string{"m=audio 30000 RTP/AVP 0 96\r\n", "a=rtpmap:96 telephone-event/8000"},
		},
		{
			name: "telephone-event at 48 kHz only is not for G.711",
			offer: offerSDP(ip4, "m=audio 4000 RTP/AVP 111 0 110", "a=rtpmap:111 opus/48000/2",
				"a=rtpmap:110 telephone-event/48000"),
			want:   Params{Codec: CodecPCMU, PayloadType: 0, Ptime: 20 * time.Millisecond, Remote: netip.MustParseAddrPort("192.0.2.10:4000"), Direction: DirectionSendRecv},
			hasNot: []string{"telephone-event"},
		},
		{
			name:  "ptime 30",
			offer: offerSDP(ip4, "m=audio 4000 RTP/AVP 0", "a=ptime:30"),
			want:  Params{Codec: CodecPCMU, Ptime: 30 * time.Millisecond, Remote: netip.MustParseAddrPort("192.0.2.10:4000"), Direction: DirectionSendRecv},
			has:   []string{"a=ptime:30"},
		},
		{
			name:  "session-level ptime, maxptime below it",
			offer: offerSDP(ip4, "a=ptime:40", "m=audio 4000 RTP/AVP 0", "a=maxptime:30"),
			want:  Params{Codec: CodecPCMU, Ptime: 30 * time.Millisecond, Remote: netip.MustParseAddrPort("192.0.2.10:4000"), Direction: DirectionSendRecv},
		},
		{
			name:  "absurd ptime falls back to 20",
			offer: offerSDP(ip4, "m=audio 4000 RTP/AVP 0", "a=ptime:1000"),
			want:  Params{Codec: CodecPCMU, Ptime: 20 * time.Millisecond, Remote: netip.MustParseAddrPort("192.0.2.10:4000"), Direction: DirectionSendRecv},
		},
		{
			name:  "c= at media level only",
			offer: offerSDP("", "m=audio 4000 RTP/AVP 0", "c=IN IP4 203.0.113.5"),
			want:  Params{Codec: CodecPCMU, Ptime: 20 * time.Millisecond, Remote: netip.MustParseAddrPort("203.0.113.5:4000"), Direction: DirectionSendRecv},
		},
		{
			name:  "c= at media level wins over session",
			offer: offerSDP(ip4, "m=audio 4000 RTP/AVP 0", "c=IN IP4 203.0.113.5"),
			want:  Params{Codec: CodecPCMU, Ptime: 20 * time.Millisecond, Remote: netip.MustParseAddrPort("203.0.113.5:4000"), Direction: DirectionSendRecv},
		},
		{
			name:  "IPv6",
			offer: offerSDP("c=IN IP6 2001:db8::7", "m=audio 4000 RTP/AVP 0"),
			want:  Params{Codec: CodecPCMU, Ptime: 20 * time.Millisecond, Remote: netip.MustParseAddrPort("[2001:db8::7]:4000"), Direction: DirectionSendRecv},
		},
		{
			name:  "codec names are case-insensitive, dynamic type honoured",
			offer: offerSDP(ip4, "m=audio 4000 RTP/AVP 97", "a=rtpmap:97 pcma/8000"),
			want:  Params{Codec: CodecPCMA, PayloadType: 97, Ptime: 20 * time.Millisecond, Remote: netip.MustParseAddrPort("192.0.2.10:4000"), Direction: DirectionSendRecv},
			has:   []string{"m=audio 30000 RTP/AVP 97\r\n", "a=rtpmap:97 PCMA/8000"},
		},
		{
			name:  "offer sendonly is answered recvonly",
			offer: offerSDP(ip4, "m=audio 4000 RTP/AVP 0", "a=sendonly"),
			want:  Params{Codec: CodecPCMU, Ptime: 20 * time.Millisecond, Remote: netip.MustParseAddrPort("192.0.2.10:4000"), Direction: DirectionRecvOnly},
			has:   []string{"a=recvonly"},
		},
		{
			name:  "offer recvonly is answered sendonly",
			offer: offerSDP(ip4, "m=audio 4000 RTP/AVP 0", "a=recvonly"),
			want:  Params{Codec: CodecPCMU, Ptime: 20 * time.Millisecond, Remote: netip.MustParseAddrPort("192.0.2.10:4000"), Direction: DirectionSendOnly},
			has:   []string{"a=sendonly"},
		},
		{
			name:  "offer inactive is answered inactive",
			offer: offerSDP(ip4, "m=audio 4000 RTP/AVP 0", "a=inactive"),
			want:  Params{Codec: CodecPCMU, Ptime: 20 * time.Millisecond, Remote: netip.MustParseAddrPort("192.0.2.10:4000"), Direction: DirectionInactive},
			has:   []string{"a=inactive"},
		},
		{
			name:  "session-level direction applies",
			offer: offerSDP(ip4, "a=sendonly", "m=audio 4000 RTP/AVP 0"),
			want:  Params{Codec: CodecPCMU, Ptime: 20 * time.Millisecond, Remote: netip.MustParseAddrPort("192.0.2.10:4000"), Direction: DirectionRecvOnly},
		},
		{
			name:  "hold with 0.0.0.0",
			offer: offerSDP("c=IN IP4 0.0.0.0", "m=audio 4000 RTP/AVP 0"),
			want:  Params{Codec: CodecPCMU, Ptime: 20 * time.Millisecond, Direction: DirectionRecvOnly},
			has:   []string{"a=recvonly"},
		},
		{
			name: "video declined, second audio stream ignored",
			offer: offerSDP(ip4, "m=video 5000 RTP/AVP 96", "a=rtpmap:96 H264/90000",
				"m=audio 4000 RTP/AVP 0", "m=audio 4002 RTP/AVP 8"),
			want: Params{Codec: CodecPCMU, Ptime: 20 * time.Millisecond, Remote: netip.MustParseAddrPort("192.0.2.10:4000"), Direction: DirectionSendRecv},
			has:  []string{"m=video 0 RTP/AVP 96\r\n", "m=audio 30000 RTP/AVP 0\r\n", "m=audio 0 RTP/AVP 8\r\n"},
		},
		{
			name:  "stream with port 0 skipped",
			offer: offerSDP(ip4, "m=audio 0 RTP/AVP 0", "m=audio 4002 RTP/AVP 8"),
			want:  Params{Codec: CodecPCMA, PayloadType: 8, Ptime: 20 * time.Millisecond, Remote: netip.MustParseAddrPort("192.0.2.10:4002"), Direction: DirectionSendRecv},
			has:   []string{"m=audio 0 RTP/AVP 0\r\n", "m=audio 30000 RTP/AVP 8\r\n"},
		},
		{
			name:  "LF line endings, no final newline",
			offer: []byte("v=0\no=- 1 1 IN IP4 192.0.2.10\ns=-\nc=IN IP4 192.0.2.10\nt=0 0\nm=audio 4000 RTP/AVP 0\na=ptime:20"),
			want:  Params{Codec: CodecPCMU, Ptime: 20 * time.Millisecond, Remote: netip.MustParseAddrPort("192.0.2.10:4000"), Direction: DirectionSendRecv},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			answer, p, err := Answer(tt.offer, local, 30000, SDPConfig{})
			require.NoError(t, err)
			require.Equal(t, tt.want, p)
			for _, s := range tt.has {
				require.Contains(t, string(answer), s)
			}
			for _, s := range tt.hasNot {
				require.NotContains(t, string(answer), s)
			}
			// The answer parses, and has as many m= lines as the offer.
			var offer, ans sdp.SessionDescription
			require.NoError(t, offer.Unmarshal(withNewline(tt.offer)))
			require.NoError(t, ans.Unmarshal(answer))
			require.Len(t, ans.MediaDescriptions, len(offer.MediaDescriptions))
		})
	}
}

func withNewline(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] != '\n' {
		return append(b, '\n')
	}
	return b
}

func TestAnswerErrors(t *testing.T) {
	ip4 := "c=IN IP4 192.0.2.10"
	tests := []struct {
		name   string
		offer  []byte
		cfg    SDPConfig
		is     error
		status int
		msg    string
	}{
		{"no common codec", offerSDP(ip4, "m=audio 4000 RTP/AVP 9 18 101", "a=rtpmap:9 G722/8000", "a=rtpmap:101 telephone-event/8000"),
			SDPConfig{}, ErrNoCommonCodec, 488, "G722/8000 (9), G729/8000 (18)"},
		{"only opus", offerSDP(ip4, "m=audio 4000 RTP/AVP 111", "a=rtpmap:111 opus/48000/2"),
			SDPConfig{}, ErrNoCommonCodec, 488, "opus/48000/2 (111)"},
		{"PCMA offered, only PCMU accepted", offerSDP(ip4, "m=audio 4000 RTP/AVP 8"),
			SDPConfig{Codecs: []Codec{CodecPCMU}}, ErrNoCommonCodec, 488, "PCMA"},
		{"PCMU at 16 kHz", offerSDP(ip4, "m=audio 4000 RTP/AVP 96", "a=rtpmap:96 PCMU/16000"),
			SDPConfig{}, ErrNoCommonCodec, 488, ""},
		{"SRTP only", offerSDP(ip4, "m=audio 4000 RTP/SAVP 0"), SDPConfig{}, ErrNoCommonCodec, 488, "no RTP/AVP audio"},
		{"video only", offerSDP(ip4, "m=video 4000 RTP/AVP 96"), SDPConfig{}, ErrNoCommonCodec, 488, ""},
		{"no media", offerSDP(ip4), SDPConfig{}, ErrNoCommonCodec, 488, ""},
		{"no connection address", offerSDP("", "m=audio 4000 RTP/AVP 0"), SDPConfig{}, ErrMalformedSDP, 400, "no connection address"},
		{"hostname connection address", offerSDP("c=IN IP4 pbx.example.com", "m=audio 4000 RTP/AVP 0"), SDPConfig{}, ErrMalformedSDP, 400, "not an IP address"},
		{"empty", nil, SDPConfig{}, ErrMalformedSDP, 400, "empty"},
		{"garbage", []byte("hello world\r\n"), SDPConfig{}, ErrMalformedSDP, 400, ""},
		{"binary", []byte{0, 1, 2, 0xff, '\n'}, SDPConfig{}, ErrMalformedSDP, 400, ""},
		{"bad payload type", offerSDP(ip4, "m=audio 4000 RTP/AVP x0"), SDPConfig{}, ErrMalformedSDP, 400, "payload type"},
		{"payload type above 127", offerSDP(ip4, "m=audio 4000 RTP/AVP 200"), SDPConfig{}, ErrMalformedSDP, 400, "payload type"},
		{"huge", append(offerSDP(ip4, "m=audio 4000 RTP/AVP 0"), strings.Repeat("a=x:y\r\n", 20000)...), SDPConfig{}, ErrMalformedSDP, 400, "bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Answer(tt.offer, local, 30000, tt.cfg)
			require.Error(t, err)
			require.True(t, errors.Is(err, tt.is), "%v is not %v", err, tt.is)
			require.Equal(t, tt.status, SIPStatus(err))
			require.Contains(t, err.Error(), tt.msg)
		})
	}
}

func TestAnswerLocalAddress(t *testing.T) {
	offer := offerSDP("c=IN IP4 192.0.2.10", "m=audio 4000 RTP/AVP 0")
	_, _, err := Answer(offer, netip.Addr{}, 30000, SDPConfig{})
	require.Error(t, err)
	_, _, err = Answer(offer, netip.IPv4Unspecified(), 30000, SDPConfig{})
	require.Error(t, err)
	_, _, err = Answer(offer, local, 0, SDPConfig{})
	require.Error(t, err)

	answer, _, err := Answer(offer, netip.MustParseAddr("2001:db8::1"), 30000, SDPConfig{})
	require.NoError(t, err)
	require.Contains(t, string(answer), "c=IN IP6 2001:db8::1\r\n")
	require.Contains(t, string(answer), "o=switchboard ")
}

func TestAnswerWantsHold(t *testing.T) {
	offer := offerSDP("c=IN IP4 192.0.2.10", "m=audio 4000 RTP/AVP 0")
	answer, p, err := Answer(offer, local, 30000, SDPConfig{Direction: DirectionSendOnly, SessionID: 42, SessionVersion: 7})
	require.NoError(t, err)
	require.Equal(t, DirectionSendOnly, p.Direction)
	require.Contains(t, string(answer), "a=sendonly")
	require.Contains(t, string(answer), "o=switchboard 42 7 IN IP4 198.51.100.1\r\n")
}

func TestOfferAndParseAnswer(t *testing.T) {
	cfg := SDPConfig{Codecs: []Codec{CodecPCMA, CodecPCMU}, Ptime: 30 * time.Millisecond}
	offer, err := Offer(local, 31000, cfg)
	require.NoError(t, err)
	s := string(offer)
	for _, want := range []string{"m=audio 31000 RTP/AVP 8 0 101\r\n", "a=rtpmap:8 PCMA/8000", "a=rtpmap:0 PCMU/8000",
		"a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-15", "a=ptime:30", "a=sendrecv", "c=IN IP4 198.51.100.1"} {
		require.Contains(t, s, want)
	}

	// The far end answers our offer with our own Answer.
	far := netip.MustParseAddr("192.0.2.20")
	answer, farParams, err := Answer(offer, far, 40000, SDPConfig{})
	require.NoError(t, err)
	require.Equal(t, CodecPCMA, farParams.Codec)
	require.Equal(t, netip.AddrPortFrom(local, 31000), farParams.Remote)

	p, err := ParseAnswer(answer, cfg)
	require.NoError(t, err)
	require.Equal(t, Params{
		Codec: CodecPCMA, PayloadType: 8, DTMFPayloadType: 101, LocalDTMFPayloadType: 101,
		Ptime: 30 * time.Millisecond, Remote: netip.AddrPortFrom(far, 40000), Direction: DirectionSendRecv,
	}, p)
}

func TestParseAnswer(t *testing.T) {
	ip4 := "c=IN IP4 192.0.2.20"
	tests := []struct {
		name   string
		answer []byte
		want   Params
		is     error
	}{
		{"other telephone-event type", offerSDP(ip4, "m=audio 5000 RTP/AVP 0 96", "a=rtpmap:96 telephone-event/8000", "a=recvonly"),
			Params{Codec: CodecPCMU, DTMFPayloadType: 96, LocalDTMFPayloadType: 101, Ptime: 20 * time.Millisecond,
				Remote: netip.MustParseAddrPort("192.0.2.20:5000"), Direction: DirectionSendOnly}, nil},
		{"no telephone-event", offerSDP(ip4, "m=audio 5000 RTP/AVP 8"),
			Params{Codec: CodecPCMA, PayloadType: 8, Ptime: 20 * time.Millisecond,
				Remote: netip.MustParseAddrPort("192.0.2.20:5000"), Direction: DirectionSendRecv}, nil},
		{"declined", offerSDP(ip4, "m=audio 0 RTP/AVP 0"), Params{}, ErrNoCommonCodec},
		{"codec not offered", offerSDP(ip4, "m=audio 5000 RTP/AVP 9"), Params{}, ErrNoCommonCodec},
		{"no audio", offerSDP(ip4, "m=video 5000 RTP/AVP 96"), Params{}, ErrNoCommonCodec},
		{"SRTP", offerSDP(ip4, "m=audio 5000 RTP/SAVP 0"), Params{}, ErrNoCommonCodec},
		{"garbage", []byte("v=0\r\nx"), Params{}, ErrMalformedSDP},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseAnswer(tt.answer, SDPConfig{})
			if tt.is != nil {
				require.ErrorIs(t, err, tt.is)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, p)
		})
	}
}

func TestDirection(t *testing.T) {
	for _, d := range []Direction{DirectionSendRecv, DirectionSendOnly, DirectionRecvOnly, DirectionInactive} {
		require.Equal(t, d, directionOf(d.Sends(), d.Receives()), d.String())
		require.Equal(t, d.Sends(), d.Reverse().Receives(), d.String())
		require.Equal(t, d, d.Reverse().Reverse())
	}
	require.Equal(t, "unknown", DirectionUnknown.String())
	require.False(t, DirectionUnknown.Sends())
}

func TestSIPStatus(t *testing.T) {
	require.Equal(t, 0, SIPStatus(nil))
	require.Equal(t, 488, SIPStatus(ErrNoCommonCodec))
	require.Equal(t, 503, SIPStatus(ErrPortsExhausted))
	require.Equal(t, 500, SIPStatus(errors.New("x")))
}
