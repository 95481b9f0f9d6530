package sip

import (
	"os"
	"path/filepath"
	"sort"
	"testing"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/stretchr/testify/require"
)

// tortureDir holds the RFC 4475 messages, one file each, byte for byte.
const tortureDir = "../testdata/torture"

// Outcomes other than a status code (0 meaning accepted for processing).
const (
	// sipgo's ParseSIP refuses the datagram, so the transport drops it and
	// nothing is answered.
	outcomeParseError = -1
	// A response, which goes to the transaction layer and never to
	// ValidateRequest.
	outcomeResponse = -2
)

// tortureCases is what happens to each RFC 4475 message arriving as one UDP
// datagram: sipgo parses it, then ValidateRequest judges it. The set is the
// RFC's own, in sipgo's valid/invalid split (§3.2 to §3.4 are syntactically
// valid but sit under invalid/). The test fails when a file is added,
// removed, or handled differently.
var tortureCases = []struct {
	file string
	want int
	why  string
}{
	// §3.1.1: valid messages. Every request is accepted.
	{"valid/wsinv", 0, "§3.1.1.1: folding, LWS and leading zeros everywhere; well-formed"},
	{"valid/intmeth", 0, "§3.1.1.2: sipgo upper-cases the odd method, the CSeq keeps its case; a handler answers 501"},
	{"valid/esc01", 0, "§3.1.1.3: escapes in URIs; well-formed"},
	{"valid/escnull", 0, "§3.1.1.4: %00 in the user part; well-formed"},
	{"valid/esc02", 0, "§3.1.1.5: RE%47IST%45R is an unknown method, not REGISTER; a handler answers 501"},
	{"valid/lwsdisp", 0, "§3.1.1.6: no LWS between display name and <"},
	{"valid/longreq", 0, "§3.1.1.7: long values and 34 Via values"},
	{"valid/dblreq", 0, "§3.1.1.8: the REGISTER is kept, the trailing INVITE octets discarded (RFC 3261 §18.3)"},
	{"valid/semiuri", 0, "§3.1.1.9: ; inside the user part"},
	{"valid/transports", 0, "§3.1.1.10: unknown transports in lower Via values"},
	{"valid/mpart01", 0, "§3.1.1.11: binary multipart body, Content-Length matches"},
	{"valid/unreason", outcomeResponse, "§3.1.1.12: UTF-8 reason phrase"},
	{"valid/noreason", outcomeResponse, "§3.1.1.13: empty reason phrase"},

	// §3.1.2: invalid messages. sipgo refuses most; the RFC asks for 400
	// where it can be sent, but a dropped datagram only costs the sender
	// its retransmissions and a timeout.
	{"invalid/badinv01", outcomeParseError, "§3.1.2.1: empty Via parameters; RFC: 400"},
	{"invalid/clerr", outcomeParseError, "§3.1.2.2: Content-Length 9999 > datagram; RFC: 400 over UDP, sipgo returns ErrParseReadBodyIncomplete"},
	{"invalid/ncl", outcomeParseError, "§3.1.2.3: negative Content-Length; RFC: error, discard the datagram"},
	{"invalid/scalar02", outcomeParseError, "§3.1.2.4: CSeq 2**65; RFC: 400 (this layer would also refuse Max-Forwards 300)"},
	{"invalid/scalarlg", outcomeParseError, "§3.1.2.5: response with overlarge values; RFC: discard"},
	{"invalid/quotbal", outcomeParseError, "§3.1.2.6: unterminated quote in To; RFC: 400"},
	{"invalid/ltgtruri", outcomeParseError, "§3.1.2.7: <> around the Request-URI; RFC: 400"},
	{"invalid/lwsruri", outcomeParseError, "§3.1.2.8: LWS inside the Request-URI; RFC: 400"},
	{"invalid/lwsstart", outcomeParseError, "§3.1.2.9: several SP between request-line elements; RFC: 400"},
	{"invalid/trws", outcomeParseError, "§3.1.2.10: SP after SIP-Version; RFC: 400"},
	{"invalid/escruri", 400, "§3.1.2.11: ?headers in the Request-URI (RFC 3261 §19.1.1); RFC: 400 acceptable"},
	{"invalid/baddate", 0, "§3.1.2.12: EST in Date; RFC: reject only if the Date matters, and it does not here"},
	{"invalid/regbadct", 0, "§3.1.2.13: ?headers in a Contact without <>; sipgo infers the brackets, which the RFC allows"},
	{"invalid/badaspec", outcomeParseError, "§3.1.2.14: spaces inside <> in To; RFC: 400 reasonable"},
	{"invalid/baddn", outcomeParseError, "§3.1.2.15: the archived file has no empty line ending the headers (see TestTortureBaddnTerminated)"},
	{"invalid/badvers", 505, "§3.1.2.16: SIP/7.0; RFC: 505"},
	{"invalid/mismatch01", 400, "§3.1.2.17: OPTIONS with CSeq INVITE; RFC: 400"},
	{"invalid/mismatch02", 400, "§3.1.2.18: NEWMETHOD with CSeq INVITE; RFC: 501 preferred, 400 acceptable"},
	{"invalid/bigcode", outcomeParseError, "§3.1.2.19: response code 4294967301; RFC: discard"},

	// §3.2: transaction layer.
	{"invalid/badbranch", 0, "§3.2.1: branch is the bare magic cookie; RFC: 400 or the RFC 2543 key, and sipgo keys it the RFC 2543 way"},

	// §3.3: application layer. Well-formed; the handlers decide.
	{"invalid/insuf", 400, "§3.3.1: no To, From, Call-ID or Max-Forwards; RFC: 400"},
	{"invalid/unkscm", 416, "§3.3.2: unknown Request-URI scheme; RFC: 416"},
	{"invalid/novelsc", outcomeParseError, "§3.3.3: soap.beep scheme; RFC: parse, then 416, but sipgo's URI parser takes letters only"},
	{"invalid/unksm2", 400, "§3.3.4: REGISTER To isbn: (RFC 3261 §10.2); RFC: the registrar answers 400"},
	{"invalid/bext01", 0, "§3.3.5: unknown Require/Proxy-Require; the handler answers 420"},
	{"invalid/invut", 0, "§3.3.6: unknown Content-Type; the handler answers 415"},
	{"invalid/regaut01", 0, "§3.3.7: unknown Authorization scheme; the registrar challenges with 401"},
	{"invalid/multi01", 400, "§3.3.8: To, From, Call-ID, CSeq and Max-Forwards twice; RFC: 400"},
	{"invalid/mcl01", 400, "§3.3.9: two Content-Length values; RFC: error"},
	{"invalid/bcast", outcomeResponse, "§3.3.10: response routed to 255.255.255.255; RFC: drop (the proxy's job)"},
	{"invalid/zeromf", 0, "§3.3.11: Max-Forwards 0 on OPTIONS; a proxy answers 483, a UAS answers normally"},
	{"invalid/cparam01", 0, "§3.3.12: Contact header parameter without <>; the registrar's concern"},
	{"invalid/cparam02", 0, "§3.3.13: unknown Contact URI parameter; the registrar's concern"},
	{"invalid/regescrt", 0, "§3.3.14: escaped Route header in a Contact URI; the registrar stores it"},
	{"invalid/sdp01", 0, "§3.3.15: Accept excludes the offered SDP; the handler answers 406 or 415"},

	// §3.4: backward compatibility.
	{"invalid/inv2543", 0, "§3.4.1: RFC 2543 INVITE: no branch, no Max-Forwards, no From tag, no Content-Length; RFC: accept"},
}

func TestTorture(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(tortureDir, "*", "*.dat"))
	require.NoError(t, err)
	var onDisk, inTable []string
	for _, f := range files {
		rel, err := filepath.Rel(tortureDir, f)
		require.NoError(t, err)
		onDisk = append(onDisk, filepath.ToSlash(rel[:len(rel)-len(".dat")]))
	}
	for _, tc := range tortureCases {
		inTable = append(inTable, tc.file)
	}
	sort.Strings(onDisk)
	sort.Strings(inTable)
	require.Equal(t, inTable, onDisk, "every torture file needs exactly one row")

	for _, tc := range tortureCases {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(tortureDir, tc.file+".dat"))
			require.NoError(t, err)
			require.Equal(t, tc.want, tortureOutcome(t, data), tc.why)
		})
	}
}

// tortureOutcome runs data through what the UDP path does with a datagram.
func tortureOutcome(t *testing.T, data []byte) int {
	msg, err := gosip.ParseMessage(data)
	if err != nil {
		return outcomeParseError
	}
	req, ok := msg.(*gosip.Request)
	if !ok {
		return outcomeResponse
	}
	r := ValidateRequest(req, true)
	if r == nil {
		return 0
	}
	res := RejectionResponse(req, r)
	require.NotNil(t, res)
	require.Equal(t, r.Code, res.StatusCode)
	return r.Code
}

// The trailing octets of dblreq look like an INVITE but are noise
// (RFC 4475 §3.1.1.8, RFC 3261 §18.3): the REGISTER must not grow a body.
func TestTortureDblreq(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(tortureDir, "valid/dblreq.dat"))
	require.NoError(t, err)
	msg, err := gosip.ParseMessage(data)
	require.NoError(t, err)
	req := msg.(*gosip.Request)
	require.Equal(t, gosip.REGISTER, req.Method)
	require.Empty(t, req.Body())
	require.Nil(t, ValidateRequest(req, true))
}

// baddn's file stops after "l: 0" with no empty line, so sipgo never sees
// the end of the headers. With the empty line the message is about what
// RFC 4475 §3.1.2.15 means: unquoted commas in display names. sipgo takes
// them as written, and the RFC lets a liberal element accept them.
func TestTortureBaddnTerminated(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(tortureDir, "invalid/baddn.dat"))
	require.NoError(t, err)
	require.Equal(t, outcomeParseError, tortureOutcome(t, data))
	require.Equal(t, 0, tortureOutcome(t, append(data, "\r\n"...)))
}
