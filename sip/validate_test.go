package sip

import (
	"strconv"
	"strings"
	"testing"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/stretchr/testify/require"
)

// testRequest is a request as text, edited header by header in test cases.
type testRequest struct {
	start   string
	headers []string
	body    string
}

// newTestRequest returns a well-formed request for method with the headers
// RFC 3261 §8.1.1 requires, in that order.
func newTestRequest(method string) testRequest {
	return testRequest{
		start: method + " sip:bob@example.com SIP/2.0",
		headers: []string{
			"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds",
			"Max-Forwards: 70",
			"To: <sip:bob@example.com>",
			"From: <sip:alice@example.com>;tag=1928301774",
			"Call-ID: a84b4c76e66710@192.0.2.1",
			"CSeq: 314159 " + method,
		},
	}
}

// withStart replaces the request line.
func (m testRequest) withStart(start string) testRequest {
	m.start = start
	return m
}

// without drops every header whose name is one of names.
func (m testRequest) without(names ...string) testRequest {
	var hs []string
	for _, h := range m.headers {
		name, _, _ := strings.Cut(h, ":")
		drop := false
		for _, n := range names {
			if strings.EqualFold(strings.TrimSpace(name), n) {
				drop = true
			}
		}
		if !drop {
			hs = append(hs, h)
		}
	}
	m.headers = hs
	return m
}

// set replaces the headers named like line's name with line, keeping the
// position of the first one, or appends line.
func (m testRequest) set(line string) testRequest {
	name, _, _ := strings.Cut(line, ":")
	for i, h := range m.headers {
		if n, _, _ := strings.Cut(h, ":"); strings.EqualFold(n, name) {
			m = m.without(name)
			m.headers = append(m.headers[:i:i], append([]string{line}, m.headers[i:]...)...)
			return m
		}
	}
	return m.with(line)
}

// with appends header lines.
func (m testRequest) with(lines ...string) testRequest {
	m.headers = append(append([]string(nil), m.headers...), lines...)
	return m
}

// withBody sets the body and a matching Content-Length.
func (m testRequest) withBody(body string) testRequest {
	m.body = body
	return m.set("Content-Length: " + strconv.Itoa(len(body)))
}

func (m testRequest) bytes() []byte {
	var b strings.Builder
	b.WriteString(m.start + "\r\n")
	for _, h := range m.headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n" + m.body)
	return []byte(b.String())
}

// parse parses m as one datagram with sipgo, as the UDP transport does.
func (m testRequest) parse(t testing.TB) *gosip.Request {
	t.Helper()
	msg, err := gosip.ParseMessage(m.bytes())
	require.NoError(t, err, "sipgo refused the test message:\n%s", m.bytes())
	req, ok := msg.(*gosip.Request)
	require.True(t, ok, "not a request")
	return req
}

func TestValidateRequest(t *testing.T) {
	invite := newTestRequest("INVITE")
	cases := []struct {
		name       string
		msg        testRequest
		stream     bool // arrived on a byte stream rather than in a datagram
		wantCode   int  // 0: accepted
		wantReason string
	}{
		{name: "well-formed INVITE", msg: invite},
		{name: "well-formed INVITE with body", msg: invite.withBody("v=0\r\n")},
		{name: "well-formed OPTIONS", msg: newTestRequest("OPTIONS")},
		{name: "well-formed REGISTER", msg: newTestRequest("REGISTER")},
		{name: "well-formed CANCEL", msg: newTestRequest("CANCEL")},

		// SIP version (RFC 3261 §7.1, §21.5.6).
		{name: "version in lower case", msg: invite.withStart("INVITE sip:bob@example.com sip/2.0")},
		{name: "version 3.0", msg: invite.withStart("INVITE sip:bob@example.com SIP/3.0"),
			wantCode: 505, wantReason: "Version Not Supported"},
		{name: "version 7.0 of RFC 4475 badvers", msg: invite.withStart("INVITE sip:bob@example.com SIP/7.0"),
			wantCode: 505, wantReason: "Version Not Supported"},
		{name: "version without number", msg: invite.withStart("INVITE sip:bob@example.com SIPX"),
			wantCode: 505, wantReason: "Version Not Supported"},
		{name: "version 2.00", msg: invite.withStart("INVITE sip:bob@example.com SIP/2.00"),
			wantCode: 505, wantReason: "Version Not Supported"},

		// Method token (§25.1).
		{name: "method that is not a token",
			msg:      newTestRequest("SIP/2.0").withStart("SIP/2.0 sip:bob@example.com SIP/2.0"),
			wantCode: 400, wantReason: "Bad Request (method)"},
		{name: "method with every token punctuation",
			msg: newTestRequest("X-.!%*_+`'~").withStart("X-.!%*_+`'~ sip:bob@example.com SIP/2.0")},

		// Mandatory single headers (§8.1.1, RFC 4475 §3.3.1 and §3.3.8).
		{name: "missing To", msg: invite.without("To"), wantCode: 400, wantReason: "Bad Request (missing To)"},
		{name: "missing From", msg: invite.without("From"), wantCode: 400, wantReason: "Bad Request (missing From)"},
		{name: "missing Call-ID", msg: invite.without("Call-ID"), wantCode: 400, wantReason: "Bad Request (missing Call-ID)"},
		{name: "missing CSeq", msg: invite.without("CSeq"), wantCode: 400, wantReason: "Bad Request (missing CSeq)"},
		{name: "missing everything", msg: invite.without("To", "From", "Call-ID", "CSeq", "Via", "Max-Forwards"),
			wantCode: 400, wantReason: "Bad Request (missing To)"},
		{name: "duplicate To", msg: invite.with("To: <sip:carol@example.com>"),
			wantCode: 400, wantReason: "Bad Request (duplicate To)"},
		{name: "duplicate To in compact form", msg: invite.with("t: <sip:carol@example.com>"),
			wantCode: 400, wantReason: "Bad Request (duplicate To)"},
		{name: "duplicate From", msg: invite.with("From: <sip:mallory@example.com>;tag=2"),
			wantCode: 400, wantReason: "Bad Request (duplicate From)"},
		{name: "duplicate From in compact form", msg: invite.with("f: <sip:mallory@example.com>;tag=2"),
			wantCode: 400, wantReason: "Bad Request (duplicate From)"},
		{name: "duplicate Call-ID", msg: invite.with("Call-ID: other@192.0.2.1"),
			wantCode: 400, wantReason: "Bad Request (duplicate Call-ID)"},
		{name: "duplicate Call-ID in compact form", msg: invite.with("i: other@192.0.2.1"),
			wantCode: 400, wantReason: "Bad Request (duplicate Call-ID)"},
		{name: "duplicate CSeq", msg: invite.with("CSeq: 1 INVITE"),
			wantCode: 400, wantReason: "Bad Request (duplicate CSeq)"},
		{name: "duplicate CSeq with the same value", msg: invite.with("CSeq: 314159 INVITE"),
			wantCode: 400, wantReason: "Bad Request (duplicate CSeq)"},

		// Via (§8.1.1.7, §18.2.2).
		{name: "missing Via", msg: invite.without("Via"), wantCode: 400, wantReason: "Bad Request (missing Via)"},
		{name: "several Via headers", msg: invite.with("Via: SIP/2.0/UDP 192.0.2.2;branch=z9hG4bKnashds8")},
		{name: "Via list in one header",
			msg: invite.set("Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1, SIP/2.0/TCP 192.0.2.2;branch=z9hG4bK2")},
		{name: "Via whose port does not parse",
			msg:      invite.set("Via: SIP/2.0/UDP 192.0.2.1:abc;branch=z9hG4bK776asdhds"),
			wantCode: 400, wantReason: "Bad Request (malformed Via)"},

		// Max-Forwards (§8.1.1.6, §20.22).
		{name: "missing Max-Forwards", msg: invite.without("Max-Forwards"),
			wantCode: 400, wantReason: "Bad Request (missing Max-Forwards)"},
		{name: "missing Max-Forwards in CANCEL", msg: newTestRequest("CANCEL").without("Max-Forwards"),
			wantCode: 400, wantReason: "Bad Request (missing Max-Forwards)"},
		{name: "missing Max-Forwards in ACK", msg: newTestRequest("ACK").without("Max-Forwards")},
		{name: "missing Max-Forwards from an RFC 2543 client without branch",
			msg: invite.without("Max-Forwards").set("Via: SIP/2.0/UDP 192.0.2.1")},
		{name: "missing Max-Forwards from an RFC 2543 client with its own branch",
			msg: invite.without("Max-Forwards").set("Via: SIP/2.0/UDP 192.0.2.1;branch=3418dk")},
		{name: "duplicate Max-Forwards", msg: invite.with("Max-Forwards: 69"),
			wantCode: 400, wantReason: "Bad Request (duplicate Max-Forwards)"},
		{name: "duplicate Max-Forwards in ACK", msg: newTestRequest("ACK").with("Max-Forwards: 69"),
			wantCode: 400, wantReason: "Bad Request (duplicate Max-Forwards)"},
		{name: "Max-Forwards 0 is the proxy's 483 to give", msg: invite.set("Max-Forwards: 0")},
		{name: "Max-Forwards 255", msg: invite.set("Max-Forwards: 255")},
		{name: "Max-Forwards with leading zeros", msg: invite.set("Max-Forwards: 0068")},
		{name: "Max-Forwards 256", msg: invite.set("Max-Forwards: 256"),
			wantCode: 400, wantReason: "Bad Request (Max-Forwards out of range)"},
		{name: "Max-Forwards 2**32-1", msg: invite.set("Max-Forwards: 4294967295"),
			wantCode: 400, wantReason: "Bad Request (Max-Forwards out of range)"},

		// CSeq (§8.1.1.5, §20.16; RFC 4475 §3.1.2.17 and §3.1.2.18).
		{name: "CSeq method mismatch", msg: newTestRequest("OPTIONS").set("CSeq: 8 INVITE"),
			wantCode: 400, wantReason: "Bad Request (CSeq method mismatch)"},
		{name: "unknown method with CSeq mismatch",
			msg:      newTestRequest("NEWMETHOD").set("CSeq: 8 INVITE"),
			wantCode: 400, wantReason: "Bad Request (CSeq method mismatch)"},
		{name: "ACK whose CSeq says INVITE", msg: newTestRequest("ACK").set("CSeq: 314159 INVITE"),
			wantCode: 400, wantReason: "Bad Request (CSeq method mismatch)"},
		{name: "CANCEL whose CSeq says INVITE", msg: newTestRequest("CANCEL").set("CSeq: 314159 INVITE"),
			wantCode: 400, wantReason: "Bad Request (CSeq method mismatch)"},
		{name: "CSeq method followed by more text", msg: invite.set("CSeq: 314159 INVITE now"),
			wantCode: 400, wantReason: "Bad Request (CSeq method mismatch)"},
		{name: "CSeq with extra LWS", msg: invite.set("CSeq: 314159   INVITE")},
		{name: "CSeq with a tab", msg: invite.set("CSeq: 314159\tINVITE")},
		{name: "CSeq with leading zeros", msg: invite.set("CSeq: 0009 INVITE")},
		{name: "CSeq 2**31-1", msg: invite.set("CSeq: 2147483647 INVITE")},
		{name: "extension method spelled in mixed case",
			msg: newTestRequest("x").withStart("NewMethod sip:bob@example.com SIP/2.0").set("CSeq: 1 NewMethod")},
		{name: "lower-case invite that sipgo routes as INVITE",
			msg:      newTestRequest("x").withStart("invite sip:bob@example.com SIP/2.0").set("CSeq: 1 invite"),
			wantCode: 400, wantReason: "Bad Request (CSeq method mismatch)"},

		// Content-Length (§18.3, §20.14; RFC 4475 §3.3.10).
		{name: "duplicate Content-Length", msg: invite.with("Content-Length: 0", "Content-Length: 0"),
			wantCode: 400, wantReason: "Bad Request (duplicate Content-Length)"},
		{name: "duplicate Content-Length in compact form", msg: invite.withBody("v=0\r\n").with("l: 5"),
			wantCode: 400, wantReason: "Bad Request (duplicate Content-Length)"},
		{name: "duplicate Content-Length on a stream", msg: invite.with("Content-Length: 0", "l: 0"), stream: true,
			wantCode: 400, wantReason: "Bad Request (duplicate Content-Length)"},
		{name: "datagram without Content-Length", msg: invite.with("Content-Type: application/sdp"),
			wantCode: 0},
		{name: "octets after the body are discarded by sipgo",
			msg: func() testRequest { m := invite.withBody("v=0\r\n"); m.body += "INVITE sip:x SIP/2.0\r\n"; return m }()},

		// Request-URI (§8.2.2.1, §16.3, §19.1.1).
		{name: "sips Request-URI", msg: invite.withStart("INVITE sips:bob@example.com SIP/2.0")},
		{name: "upper-case SIP scheme", msg: invite.withStart("INVITE SIP:bob@example.com SIP/2.0")},
		{name: "tel Request-URI", msg: invite.withStart("INVITE tel:+1-201-555-0123 SIP/2.0")},
		{name: "Request-URI with a host only", msg: invite.withStart("INVITE sip:example.com SIP/2.0")},
		{name: "IPv6 Request-URI", msg: invite.withStart("INVITE sip:bob@[2001:db8::1]:5060 SIP/2.0")},
		{name: "http Request-URI", msg: invite.withStart("INVITE http://example.com/ SIP/2.0"),
			wantCode: 416, wantReason: "Unsupported URI Scheme"},
		{name: "unknown scheme of RFC 4475 unkscm",
			msg:      newTestRequest("OPTIONS").withStart("OPTIONS nobodyKnowsThisScheme:totallyopaquecontent SIP/2.0"),
			wantCode: 416, wantReason: "Unsupported URI Scheme"},
		{name: "Request-URI without host", msg: invite.withStart("INVITE sip:bob@ SIP/2.0"),
			wantCode: 400, wantReason: "Bad Request (Request-URI without host)"},
		{name: "Request-URI that is only the scheme", msg: invite.withStart("INVITE sip: SIP/2.0"),
			wantCode: 400, wantReason: "Bad Request (Request-URI without host)"},
		{name: "Request-URI with parameters and no host", msg: invite.withStart("INVITE sip:;lr SIP/2.0"),
			wantCode: 400, wantReason: "Bad Request (Request-URI without host)"},
		{name: "Request-URI port above 65535", msg: invite.withStart("INVITE sip:bob@example.com:99999 SIP/2.0"),
			wantCode: 400, wantReason: "Bad Request (Request-URI port out of range)"},
		{name: "negative Request-URI port", msg: invite.withStart("INVITE sip:bob@example.com:-5 SIP/2.0"),
			wantCode: 400, wantReason: "Bad Request (Request-URI port out of range)"},
		{name: "headers in Request-URI",
			msg:      invite.withStart("INVITE sip:bob@example.com?Route=%3Csip:example.com%3E SIP/2.0"),
			wantCode: 400, wantReason: "Bad Request (headers in Request-URI)"},
		{name: "syntax is checked before the scheme",
			msg:      invite.withStart("INVITE http://example.com/ SIP/2.0").without("Call-ID"),
			wantCode: 400, wantReason: "Bad Request (missing Call-ID)"},
		{name: "version is checked first",
			msg:      invite.withStart("INVITE http://example.com/ SIP/3.0").without("Call-ID"),
			wantCode: 505, wantReason: "Version Not Supported"},

		// To and From addresses (§19.1.1, §20.20, §20.39).
		{name: "To without host", msg: invite.set("To: <sip:bob@>"),
			wantCode: 400, wantReason: "Bad Request (To without host)"},
		{name: "From without host", msg: invite.set("From: <sip:alice@>;tag=1"),
			wantCode: 400, wantReason: "Bad Request (From without host)"},
		{name: "To port out of range", msg: invite.set("To: <sip:bob@example.com:70000>"),
			wantCode: 400, wantReason: "Bad Request (To port out of range)"},
		{name: "tel To", msg: invite.set("To: <tel:+1-201-555-0123>")},
		{name: "http From", msg: invite.set("From: <http://www.example.com>;tag=3234233")},
		{name: "REGISTER with a tel To", msg: newTestRequest("REGISTER").set("To: <tel:+1-201-555-0123>"),
			wantCode: 400, wantReason: "Bad Request (To is not a SIP URI)"},
		{name: "REGISTER with a sips To", msg: newTestRequest("REGISTER").set("To: <sips:bob@example.com>")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.msg.parse(t)
			r := ValidateRequest(req, !tc.stream)
			if tc.wantCode == 0 {
				require.Nil(t, r, "rejected: %+v", r)
				return
			}
			require.NotNil(t, r, "accepted")
			require.Equal(t, tc.wantCode, r.Code, "detail: %s", r.Detail)
			require.Equal(t, tc.wantReason, r.Reason, "detail: %s", r.Detail)
			require.NotEmpty(t, r.Detail)
		})
	}
}

// Requests built or altered in code, which sipgo's parser cannot produce.
func TestValidateRequestBuilt(t *testing.T) {
	cases := []struct {
		name       string
		edit       func(*gosip.Request)
		datagram   bool
		wantCode   int
		wantReason string
	}{
		{name: "CSeq number 2**31", datagram: true,
			edit:     func(r *gosip.Request) { r.CSeq().SeqNo = 1 << 31 },
			wantCode: 400, wantReason: "Bad Request (CSeq out of range)"},
		{name: "Content-Length larger than the datagram body", datagram: true,
			edit:     func(r *gosip.Request) { *r.ContentLength() = 9999 },
			wantCode: 400, wantReason: "Bad Request (Content-Length mismatch)"},
		{name: "Content-Length smaller than the datagram body", datagram: true,
			edit:     func(r *gosip.Request) { *r.ContentLength() = 1 },
			wantCode: 400, wantReason: "Bad Request (Content-Length mismatch)"},
		{name: "Content-Length disagreeing on a stream is the stream parser's concern",
			edit: func(r *gosip.Request) { *r.ContentLength() = 9999 }},
		{name: "Request-URI without scheme", datagram: true,
			edit:     func(r *gosip.Request) { r.Recipient.Scheme = "" },
			wantCode: 416, wantReason: "Unsupported URI Scheme"},
		{name: "empty method", datagram: true,
			edit:     func(r *gosip.Request) { r.Method = "" },
			wantCode: 400, wantReason: "Bad Request (method)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := newTestRequest("INVITE").withBody("v=0\r\n").parse(t)
			tc.edit(req)
			r := ValidateRequest(req, tc.datagram)
			if tc.wantCode == 0 {
				require.Nil(t, r, "rejected: %+v", r)
				return
			}
			require.NotNil(t, r, "accepted")
			require.Equal(t, tc.wantCode, r.Code)
			require.Equal(t, tc.wantReason, r.Reason)
		})
	}

	t.Run("nil request", func(t *testing.T) {
		r := ValidateRequest(nil, true)
		require.NotNil(t, r)
		require.Equal(t, 400, r.Code)
	})
	t.Run("request with no headers", func(t *testing.T) {
		r := ValidateRequest(gosip.NewRequest(gosip.INVITE, gosip.Uri{Scheme: "sip", Host: "example.com"}), true)
		require.NotNil(t, r)
		require.Equal(t, "Bad Request (missing To)", r.Reason)
	})
}

// Detail quotes the request but only a bounded part of it.
func TestRejectionDetailIsBounded(t *testing.T) {
	long := strings.Repeat("A", 5000)
	req := newTestRequest("INVITE").withStart("INVITE " + long + ":x SIP/2.0").parse(t)
	r := ValidateRequest(req, true)
	require.NotNil(t, r)
	require.Equal(t, 416, r.Code)
	require.Less(t, len(r.Detail), 200)
}

func TestRejectionResponse(t *testing.T) {
	t.Run("copies the request's identifiers", func(t *testing.T) {
		req := newTestRequest("OPTIONS").set("CSeq: 8 INVITE").parse(t)
		req.SetSource("192.0.2.1:5060")
		r := ValidateRequest(req, true)
		require.NotNil(t, r)
		res := RejectionResponse(req, r)
		require.NotNil(t, res)
		require.Equal(t, 400, res.StatusCode)
		require.Equal(t, "Bad Request (CSeq method mismatch)", res.Reason)
		require.Equal(t, "SIP/2.0", res.SipVersion)
		require.Equal(t, req.CallID().Value(), res.CallID().Value())
		require.Equal(t, req.Via().Value(), res.Via().Value())
		require.Equal(t, req.CSeq().Value(), res.CSeq().Value())
		require.Equal(t, req.From().Value(), res.From().Value())
		require.True(t, res.To().Params.Has("tag"))
		require.Equal(t, "192.0.2.1:5060", res.Destination())
		require.Contains(t, res.String(), "SIP/2.0 400 Bad Request (CSeq method mismatch)\r\n")
	})

	t.Run("505 is sent as SIP/2.0", func(t *testing.T) {
		req := newTestRequest("OPTIONS").withStart("OPTIONS sip:bob@example.com SIP/7.0").parse(t)
		r := ValidateRequest(req, true)
		require.NotNil(t, r)
		res := RejectionResponse(req, r)
		require.True(t, strings.HasPrefix(res.String(), "SIP/2.0 505 Version Not Supported\r\n"), res.String())
	})

	t.Run("416", func(t *testing.T) {
		req := newTestRequest("OPTIONS").withStart("OPTIONS urn:service:sos SIP/2.0").parse(t)
		res := RejectionResponse(req, ValidateRequest(req, true))
		require.True(t, strings.HasPrefix(res.String(), "SIP/2.0 416 Unsupported URI Scheme\r\n"), res.String())
	})

	t.Run("ACK is not answered", func(t *testing.T) {
		req := newTestRequest("ACK").set("CSeq: 314159 INVITE").parse(t)
		r := ValidateRequest(req, true)
		require.NotNil(t, r)
		require.Nil(t, RejectionResponse(req, r))
	})

	t.Run("nil arguments", func(t *testing.T) {
		require.Nil(t, RejectionResponse(nil, &Rejection{Code: 400, Reason: "Bad Request"}))
		require.Nil(t, RejectionResponse(newTestRequest("INVITE").parse(t), nil))
	})

	t.Run("To tag is the same for a retransmission", func(t *testing.T) {
		m := newTestRequest("INVITE").without("Max-Forwards")
		tag := func(m testRequest) string {
			req := m.parse(t)
			res := RejectionResponse(req, ValidateRequest(req, true))
			tag, ok := res.To().Params.Get("tag")
			require.True(t, ok)
			require.NotEmpty(t, tag)
			return tag
		}
		first := tag(m)
		require.Equal(t, first, tag(m))
		require.NotEqual(t, first, tag(m.set("Call-ID: another@192.0.2.1")))
		require.NotEqual(t, first, tag(m.set("Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKother")))
	})

	t.Run("an existing To tag is kept", func(t *testing.T) {
		req := newTestRequest("BYE").set("To: <sip:bob@example.com>;tag=a6c85cf").without("Max-Forwards").parse(t)
		res := RejectionResponse(req, ValidateRequest(req, true))
		tag, _ := res.To().Params.Get("tag")
		require.Equal(t, "a6c85cf", tag)
	})
}

// RejectionResponse answers whatever subset of the identifying headers a
// request carries, without panicking.
func TestRejectionResponseMissingHeaders(t *testing.T) {
	names := []string{"Via", "Max-Forwards", "To", "From", "Call-ID", "CSeq"}
	for mask := 0; mask < 1<<len(names); mask++ {
		var drop []string
		for i, n := range names {
			if mask&(1<<i) != 0 {
				drop = append(drop, n)
			}
		}
		m := newTestRequest("INVITE").without(drop...)
		t.Run("without "+strings.Join(drop, ","), func(t *testing.T) {
			req := m.parse(t)
			require.NotPanics(t, func() {
				r := ValidateRequest(req, true)
				if len(drop) == 0 {
					require.Nil(t, r)
					r = &Rejection{Code: 400, Reason: "Bad Request"}
				}
				require.NotNil(t, r)
				res := RejectionResponse(req, r)
				require.NotNil(t, res)
				require.Equal(t, r.Code, res.StatusCode)
				_ = res.String()
			})
		})
	}

	t.Run("zero request", func(t *testing.T) {
		require.NotPanics(t, func() {
			req := &gosip.Request{}
			r := ValidateRequest(req, true)
			require.NotNil(t, r)
			res := RejectionResponse(req, r)
			require.NotNil(t, res)
			_ = res.String()
		})
	})
	t.Run("request without headers", func(t *testing.T) {
		require.NotPanics(t, func() {
			req := gosip.NewRequest(gosip.OPTIONS, gosip.Uri{Scheme: "sip", Host: "example.com"})
			res := RejectionResponse(req, ValidateRequest(req, false))
			require.NotNil(t, res)
			_ = res.String()
		})
	})
}

func TestValidateRequestDoesNotAllocate(t *testing.T) {
	req := newTestRequest("INVITE").withBody("v=0\r\n").parse(t)
	allocs := testing.AllocsPerRun(100, func() {
		if ValidateRequest(req, true) != nil {
			t.Fatal("rejected")
		}
	})
	require.Zero(t, allocs)
}

func BenchmarkValidateRequest(b *testing.B) {
	req := newTestRequest("INVITE").withBody("v=0\r\n").parse(b)
	b.ReportAllocs()
	for b.Loop() {
		if ValidateRequest(req, true) != nil {
			b.Fatal("rejected")
		}
	}
}
