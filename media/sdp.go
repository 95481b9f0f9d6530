package media

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/pion/sdp/v3"
)

// Direction says whether one side of a stream sends, receives, both or
// neither (RFC 3264 §5.1). Which side it describes is stated where it is
// used: Params.Direction is always ours.
type Direction uint8

const (
	DirectionUnknown Direction = iota
	DirectionSendRecv
	DirectionSendOnly
	DirectionRecvOnly
	DirectionInactive
)

func (d Direction) String() string {
	switch d {
	case DirectionSendRecv:
		return "sendrecv"
	case DirectionSendOnly:
		return "sendonly"
	case DirectionRecvOnly:
		return "recvonly"
	case DirectionInactive:
		return "inactive"
	default:
		return "unknown"
	}
}

// Sends reports whether the side d describes sends media.
func (d Direction) Sends() bool { return d == DirectionSendRecv || d == DirectionSendOnly }

// Receives reports whether the side d describes receives media.
func (d Direction) Receives() bool { return d == DirectionSendRecv || d == DirectionRecvOnly }

// Reverse is the direction of the other side of the stream: what one side
// sends, the other receives.
func (d Direction) Reverse() Direction {
	switch d {
	case DirectionSendOnly:
		return DirectionRecvOnly
	case DirectionRecvOnly:
		return DirectionSendOnly
	default:
		return d
	}
}

func directionOf(sends, receives bool) Direction {
	switch {
	case sends && receives:
		return DirectionSendRecv
	case sends:
		return DirectionSendOnly
	case receives:
		return DirectionRecvOnly
	default:
		return DirectionInactive
	}
}

// Params are the negotiated parameters of one audio stream, from our side.
type Params struct {
	Codec Codec
	// PayloadType carries Codec in both directions: its static type, unless
	// the offer mapped the codec to another number with a=rtpmap.
	PayloadType uint8
	// DTMFPayloadType is the telephone-event payload type the peer declared
	// (RFC 4733 §7.1.1): we send events with it. 0 when the peer declared none.
	DTMFPayloadType uint8
	// LocalDTMFPayloadType is the telephone-event payload type we declared:
	// the peer sends events with it. Equal to DTMFPayloadType for an answer;
	// it may differ when we made the offer. 0 when none was agreed.
	LocalDTMFPayloadType uint8
	// Ptime is the audio duration of one packet (RFC 4566 §6, a=ptime).
	Ptime time.Duration
	// Remote is the peer's RTP address from c= and m=. It is the zero
	// AddrPort when the peer gave the unspecified address (hold, RFC 3264
	// §8.4) and so expects no media.
	Remote netip.AddrPort
	// Direction is ours: whether we send and whether we receive.
	Direction Direction
}

// FrameSamples is the number of samples in one packet.
func (p Params) FrameSamples() int { return Samples(p.Ptime) }

// SDPConfig is what we offer, and what we accept in an offer.
type SDPConfig struct {
	// Codecs are the codecs we accept; Offer lists them in this order of
	// preference. Default: PCMU, PCMA.
	Codecs []Codec
	// DTMFPayloadType is the telephone-event payload type Offer declares
	// (default 101). Answer uses the one the offer declared.
	DTMFPayloadType uint8
	// Ptime is what Offer asks for, and what Answer uses when the offer
	// names no a=ptime (default 20 ms).
	Ptime time.Duration
	// Direction is what we want to do (default sendrecv): DirectionSendOnly
	// to put the peer on hold, DirectionInactive to stop media altogether.
	Direction Direction
	// SessionID and SessionVersion fill the o= line (RFC 4566 §5.2). A
	// re-INVITE's description must keep the ID and increase the version; a
	// zero ID picks a random one, a zero version uses 1.
	SessionID, SessionVersion uint64
}

const (
	defaultPtime    = 20 * time.Millisecond
	minPtime        = 10 * time.Millisecond
	maxPtime        = 120 * time.Millisecond
	defaultDTMFType = 101
	maxSDPSize      = 64 << 10
	// telephoneEvents are the RFC 4733 events we understand: the 16 DTMF
	// digits (§3.2).
	telephoneEvents = "0-15"
)

func (c SDPConfig) withDefaults() SDPConfig {
	var codecs []Codec
	for _, k := range c.Codecs {
		if k == CodecPCMU || k == CodecPCMA {
			codecs = append(codecs, k)
		}
	}
	if len(codecs) == 0 {
		codecs = []Codec{CodecPCMU, CodecPCMA}
	}
	c.Codecs = codecs
	if c.DTMFPayloadType == 0 || c.DTMFPayloadType > 127 {
		c.DTMFPayloadType = defaultDTMFType
	}
	if c.Ptime < minPtime || c.Ptime > maxPtime {
		c.Ptime = defaultPtime
	}
	if c.Direction == DirectionUnknown {
		c.Direction = DirectionSendRecv
	}
	if c.SessionID == 0 {
		// Kept below 2^31: some stacks read the o= numbers as 32-bit.
		c.SessionID = rand.Uint64N(1<<31) + 1
	}
	if c.SessionVersion == 0 {
		c.SessionVersion = 1
	}
	return c
}

func (c SDPConfig) accepts(k Codec) bool {
	for _, a := range c.Codecs {
		if a == k {
			return true
		}
	}
	return false
}

// Answer answers an SDP offer (RFC 3264 §6) for a stream that we receive on
// local:port. It accepts the first audio stream over RTP/AVP (or RTP/AVPF)
// that offers PCMU or PCMA, picking the first of the two in the offer's
// order that cfg accepts, with telephone-event on whatever payload type the
// offer used for it, the offer's ptime, and a direction that mirrors the
// offer's. Every other stream of the offer is declined with port 0, so the
// answer has as many m= lines as the offer.
//
// An offer without such a stream fails with ErrNoCommonCodec (488), one that
// does not parse with ErrMalformedSDP (400).
func Answer(offer []byte, local netip.Addr, port int, cfg SDPConfig) ([]byte, Params, error) {
	if err := checkLocal(local, port); err != nil {
		return nil, Params{}, err
	}
	desc, err := parseSDP(offer)
	if err != nil {
		return nil, Params{}, err
	}
	cfg = cfg.withDefaults()

	var p Params
	chosen := -1
	var offered []string
	for i, md := range desc.MediaDescriptions {
		if md.MediaName.Media != "audio" || md.MediaName.Port.Value == 0 || !isRTPAVP(md.MediaName.Protos) {
			continue
		}
		s, err := readStream(desc, md, cfg)
		if err != nil {
			return nil, Params{}, err
		}
		offered = append(offered, s.formats...)
		if s.codec == CodecUnknown {
			continue
		}
		p = Params{
			Codec:                s.codec,
			PayloadType:          s.payloadType,
			DTMFPayloadType:      s.dtmf,
			LocalDTMFPayloadType: s.dtmf,
			Ptime:                s.ptime,
			Remote:               s.remote,
			Direction:            directionOf(cfg.Direction.Sends() && s.dir.Receives(), cfg.Direction.Receives() && s.dir.Sends()),
		}
		chosen = i
		break
	}
	if chosen < 0 {
		if len(offered) == 0 {
			return nil, Params{}, fmt.Errorf("%w: offer has no RTP/AVP audio stream", ErrNoCommonCodec)
		}
		return nil, Params{}, fmt.Errorf("%w: offer has %s", ErrNoCommonCodec, strings.Join(offered, ", "))
	}

	mds := make([]*sdp.MediaDescription, len(desc.MediaDescriptions))
	for i, md := range desc.MediaDescriptions {
		if i == chosen {
			mds[i] = audioMedia(port, md.MediaName.Protos, p.PayloadType, p.Codec, p.DTMFPayloadType, p.Ptime, p.Direction)
			continue
		}
		mds[i] = declinedMedia(md)
	}
	out, err := marshalSDP(local, cfg, mds)
	if err != nil {
		return nil, Params{}, err
	}
	return out, p, nil
}

// Offer is an SDP offer (RFC 3264 §5) of one audio stream received on
// local:port, with cfg's codecs in order, telephone-event and ptime.
func Offer(local netip.Addr, port int, cfg SDPConfig) ([]byte, error) {
	if err := checkLocal(local, port); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	md := &sdp.MediaDescription{MediaName: sdp.MediaName{
		Media:  "audio",
		Port:   sdp.RangedPort{Value: port},
		Protos: []string{"RTP", "AVP"},
	}}
	for _, c := range cfg.Codecs {
		pt := strconv.Itoa(int(c.PayloadType()))
		md.MediaName.Formats = append(md.MediaName.Formats, pt)
		md.Attributes = append(md.Attributes, sdp.NewAttribute("rtpmap", pt+" "+c.String()+"/8000"))
	}
	addDTMF(md, cfg.DTMFPayloadType)
	md.Attributes = append(md.Attributes,
		sdp.NewAttribute("ptime", strconv.Itoa(int(cfg.Ptime/time.Millisecond))),
		sdp.NewPropertyAttribute(cfg.Direction.String()))
	return marshalSDP(local, cfg, []*sdp.MediaDescription{md})
}

// ParseAnswer reads the answer to an offer made by Offer with the same cfg.
// An answer that declines the audio stream (port 0) or picks no codec we
// offered fails with ErrNoCommonCodec.
func ParseAnswer(answer []byte, cfg SDPConfig) (Params, error) {
	desc, err := parseSDP(answer)
	if err != nil {
		return Params{}, err
	}
	cfg = cfg.withDefaults()
	var md *sdp.MediaDescription
	for _, m := range desc.MediaDescriptions {
		if m.MediaName.Media == "audio" {
			md = m
			break
		}
	}
	if md == nil {
		return Params{}, fmt.Errorf("%w: answer has no audio stream", ErrNoCommonCodec)
	}
	if md.MediaName.Port.Value == 0 {
		return Params{}, fmt.Errorf("%w: answer declined the audio stream", ErrNoCommonCodec)
	}
	if !isRTPAVP(md.MediaName.Protos) {
		return Params{}, fmt.Errorf("%w: answer uses %s", ErrNoCommonCodec, strings.Join(md.MediaName.Protos, "/"))
	}
	s, err := readStream(desc, md, cfg)
	if err != nil {
		return Params{}, err
	}
	if s.codec == CodecUnknown {
		return Params{}, fmt.Errorf("%w: answer has %s", ErrNoCommonCodec, strings.Join(s.formats, ", "))
	}
	p := Params{
		Codec:           s.codec,
		PayloadType:     s.payloadType,
		DTMFPayloadType: s.dtmf,
		Ptime:           s.ptime,
		Remote:          s.remote,
		Direction:       directionOf(cfg.Direction.Sends() && s.dir.Receives(), cfg.Direction.Receives() && s.dir.Sends()),
	}
	if s.dtmf != 0 {
		p.LocalDTMFPayloadType = cfg.DTMFPayloadType
	}
	return p, nil
}

// stream is what one m= section of a peer's description says.
type stream struct {
	codec       Codec // first acceptable in the section's order; CodecUnknown when none
	payloadType uint8
	dtmf        uint8         // telephone-event/8000 payload type, 0 when none
	ptime       time.Duration // the section's a=ptime, else the session's, else cfg's
	remote      netip.AddrPort
	dir         Direction // the peer's
	formats     []string  // "PCMU/8000 (0)", for error messages
}

func readStream(desc *sdp.SessionDescription, md *sdp.MediaDescription, cfg SDPConfig) (stream, error) {
	var s stream
	maps := rtpmaps(md)
	for _, f := range md.MediaName.Formats {
		n, err := strconv.ParseUint(f, 10, 7)
		if err != nil {
			return stream{}, malformed("payload type %q", f)
		}
		pt := uint8(n)
		m, mapped := maps[pt]
		if !mapped {
			m = staticRTPMap(pt)
		}
		s.formats = append(s.formats, fmt.Sprintf("%s (%d)", m, pt))
		name, rate, channels := m.parts()
		if rate != SampleRate || (channels != "" && channels != "1") {
			continue
		}
		switch {
		case strings.EqualFold(name, "telephone-event"):
			if s.dtmf == 0 {
				s.dtmf = pt
			}
		case s.codec != CodecUnknown:
		case strings.EqualFold(name, "PCMU") && cfg.accepts(CodecPCMU):
			s.codec, s.payloadType = CodecPCMU, pt
		case strings.EqualFold(name, "PCMA") && cfg.accepts(CodecPCMA):
			s.codec, s.payloadType = CodecPCMA, pt
		}
	}
	// A telephone-event payload type that collides with the audio one is
	// unusable; RTP could not tell the two apart.
	if s.dtmf == s.payloadType && s.codec != CodecUnknown {
		s.dtmf = 0
	}

	s.ptime = cfg.Ptime
	if v, ok := attribute(desc, md, "ptime"); ok {
		if d, ok := parsePtime(v); ok {
			s.ptime = d
		}
	}
	if v, ok := attribute(desc, md, "maxptime"); ok {
		if d, ok := parsePtime(v); ok && d < s.ptime {
			s.ptime = d
		}
	}

	s.dir = DirectionSendRecv
	if d, ok := direction(md.Attributes); ok {
		s.dir = d
	} else if d, ok := direction(desc.Attributes); ok {
		s.dir = d
	}

	ci := md.ConnectionInformation
	if ci == nil {
		ci = desc.ConnectionInformation
	}
	if ci == nil || ci.Address == nil {
		return stream{}, malformed("no connection address (c=) for the audio stream")
	}
	host, _, _ := strings.Cut(ci.Address.Address, "/") // multicast TTL and range
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return stream{}, malformed("connection address %q is not an IP address", ci.Address.Address)
	}
	port := md.MediaName.Port.Value
	if port < 1 || port > 65535 {
		return stream{}, malformed("media port %d", port)
	}
	if addr.IsUnspecified() {
		// Hold the RFC 2543 way (RFC 3264 §8.4): the peer receives nothing.
		s.dir = directionOf(s.dir.Sends(), false)
	} else {
		s.remote = netip.AddrPortFrom(addr.Unmap().WithZone(""), uint16(port))
	}
	return s, nil
}

// rtpMap is an a=rtpmap value without its payload type: "PCMU/8000".
type rtpMap string

func (m rtpMap) parts() (name string, rate int, channels string) {
	name, rest, _ := strings.Cut(string(m), "/")
	r, channels, _ := strings.Cut(rest, "/")
	rate, err := strconv.Atoi(r)
	if err != nil {
		rate = 0
	}
	return name, rate, channels
}

func (m rtpMap) String() string {
	if m == "" {
		return "unknown"
	}
	return string(m)
}

// staticRTPMap names the static payload types of RFC 3551 §6 that an offer
// may list without a=rtpmap; the audio ones other than G.711 only serve to
// name what was offered.
func staticRTPMap(pt uint8) rtpMap {
	switch pt {
	case 0:
		return "PCMU/8000"
	case 3:
		return "GSM/8000"
	case 4:
		return "G723/8000"
	case 8:
		return "PCMA/8000"
	case 9:
		return "G722/8000"
	case 13:
		return "CN/8000"
	case 18:
		return "G729/8000"
	}
	return ""
}

// rtpmaps reads the a=rtpmap lines of one media section; the first line
// for a payload type wins.
func rtpmaps(md *sdp.MediaDescription) map[uint8]rtpMap {
	maps := make(map[uint8]rtpMap, 4)
	for _, a := range md.Attributes {
		if a.Key != "rtpmap" {
			continue
		}
		pt, enc, ok := strings.Cut(strings.TrimSpace(a.Value), " ")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(pt, 10, 7)
		if err != nil {
			continue
		}
		if _, dup := maps[uint8(n)]; !dup {
			maps[uint8(n)] = rtpMap(strings.TrimSpace(enc))
		}
	}
	return maps
}

// attribute is the media section's attribute key, else the session's.
func attribute(desc *sdp.SessionDescription, md *sdp.MediaDescription, key string) (string, bool) {
	if v, ok := md.Attribute(key); ok {
		return v, true
	}
	return desc.Attribute(key)
}

func direction(attrs []sdp.Attribute) (Direction, bool) {
	for _, a := range attrs {
		switch a.Key {
		case "sendrecv":
			return DirectionSendRecv, true
		case "sendonly":
			return DirectionSendOnly, true
		case "recvonly":
			return DirectionRecvOnly, true
		case "inactive":
			return DirectionInactive, true
		}
	}
	return DirectionUnknown, false
}

// parsePtime reads a ptime in milliseconds ("20", "30", "20.0"); values
// outside 10–120 ms are ignored.
func parsePtime(v string) (time.Duration, bool) {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || f != f {
		return 0, false
	}
	d := time.Duration(f * float64(time.Millisecond)).Round(time.Millisecond)
	if d < minPtime || d > maxPtime {
		return 0, false
	}
	return d, true
}

func isRTPAVP(protos []string) bool {
	p := strings.Join(protos, "/")
	return p == "RTP/AVP" || p == "RTP/AVPF"
}

func checkLocal(local netip.Addr, port int) error {
	if !local.IsValid() || local.IsUnspecified() {
		return fmt.Errorf("media: local address %v cannot receive RTP", local)
	}
	if port < 1 || port > 65535 {
		return fmt.Errorf("media: local port %d out of range", port)
	}
	return nil
}

func addDTMF(md *sdp.MediaDescription, pt uint8) {
	s := strconv.Itoa(int(pt))
	md.MediaName.Formats = append(md.MediaName.Formats, s)
	md.Attributes = append(md.Attributes,
		sdp.NewAttribute("rtpmap", s+" telephone-event/8000"),
		sdp.NewAttribute("fmtp", s+" "+telephoneEvents))
}

func audioMedia(port int, protos []string, pt uint8, c Codec, dtmf uint8, ptime time.Duration, dir Direction) *sdp.MediaDescription {
	s := strconv.Itoa(int(pt))
	md := &sdp.MediaDescription{
		MediaName: sdp.MediaName{
			Media:   "audio",
			Port:    sdp.RangedPort{Value: port},
			Protos:  append([]string(nil), protos...),
			Formats: []string{s},
		},
		Attributes: []sdp.Attribute{sdp.NewAttribute("rtpmap", s+" "+c.String()+"/8000")},
	}
	if dtmf != 0 {
		addDTMF(md, dtmf)
	}
	md.Attributes = append(md.Attributes,
		sdp.NewAttribute("ptime", strconv.Itoa(int(ptime/time.Millisecond))),
		sdp.NewPropertyAttribute(dir.String()))
	return md
}

// declinedMedia rejects an offered stream: same media, protocol and
// formats, port 0 (RFC 3264 §6).
func declinedMedia(md *sdp.MediaDescription) *sdp.MediaDescription {
	formats := append([]string(nil), md.MediaName.Formats...)
	if len(formats) == 0 {
		formats = []string{"0"}
	}
	return &sdp.MediaDescription{MediaName: sdp.MediaName{
		Media:   md.MediaName.Media,
		Port:    sdp.RangedPort{Value: 0},
		Protos:  append([]string(nil), md.MediaName.Protos...),
		Formats: formats,
	}}
}

func marshalSDP(local netip.Addr, cfg SDPConfig, mds []*sdp.MediaDescription) ([]byte, error) {
	local = local.Unmap().WithZone("")
	addrType := "IP4"
	if local.Is6() {
		addrType = "IP6"
	}
	desc := sdp.SessionDescription{
		Origin: sdp.Origin{
			Username:       "switchboard",
			SessionID:      cfg.SessionID,
			SessionVersion: cfg.SessionVersion,
			NetworkType:    "IN",
			AddressType:    addrType,
			UnicastAddress: local.String(),
		},
		SessionName: "switchboard",
		ConnectionInformation: &sdp.ConnectionInformation{
			NetworkType: "IN",
			AddressType: addrType,
			Address:     &sdp.Address{Address: local.String()},
		},
		TimeDescriptions:  []sdp.TimeDescription{{}},
		MediaDescriptions: mds,
	}
	out, err := desc.Marshal()
	if err != nil {
		return nil, fmt.Errorf("media: marshal SDP: %w", err)
	}
	return out, nil
}

// parseSDP parses a peer's session description. The parser is not ours, and
// a description from the network must never bring the process down, so a
// panic inside it becomes ErrMalformedSDP.
func parseSDP(b []byte) (desc *sdp.SessionDescription, err error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, malformed("empty session description")
	}
	if len(b) > maxSDPSize {
		return nil, malformed("session description of %d bytes", len(b))
	}
	// The parser needs every line terminated, the last one included.
	if b[len(b)-1] != '\n' {
		b = append(b[:len(b):len(b)], '\r', '\n')
	}
	defer func() {
		if r := recover(); r != nil {
			desc, err = nil, malformed("unparsable session description")
		}
	}()
	desc = &sdp.SessionDescription{}
	if err := desc.Unmarshal(b); err != nil {
		return nil, malformed("%v", err)
	}
	return desc, nil
}
