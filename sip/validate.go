package sip

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"

	gosip "github.com/emiago/sipgo/sip"
)

// Rejection is this layer's answer to a request that must not reach a
// handler: the status to send and, for logs only, what was wrong.
//
// Reason is drawn from a fixed vocabulary and never echoes the request, so it
// is safe in a status line. Detail may quote (a bounded part of) the request
// and is never sent.
type Rejection struct {
	Code   int
	Reason string
	Detail string
}

// sipVersion is the only version this stack speaks (RFC 3261 §7.1).
const sipVersion = "SIP/2.0"

// maxCSeq is the largest CSeq sequence number: it must be below 2**31
// (RFC 3261 §8.1.1.5).
const maxCSeq = 1<<31 - 1

// maxMaxForwards is the largest Max-Forwards value (RFC 3261 §20.22 and
// §25.1: 1*DIGIT in the range 0-255).
const maxMaxForwards = 255

// magicCookie starts every branch an RFC 3261 client generates (§8.1.1.7).
// A top Via without it marks a request from an RFC 2543 element.
const magicCookie = "z9hG4bK"

// detailLimit bounds how much of a request one Detail may quote.
const detailLimit = 64

// ValidateRequest checks what sipgo's parser leaves to its user and returns
// nil when the request may go on to a handler.
//
// datagram reports that the request arrived as one transport message (a UDP
// datagram, or a WebSocket message, which carries exactly one SIP message
// per RFC 7118) and was parsed whole with ParseSIP, rather than cut out of a
// byte stream.
//
// The checks follow RFC 3261 §16.3's order: syntax (400) before the
// Request-URI scheme (416). The SIP version comes first, since nothing else
// in a message of another version can be interpreted (505, §21.5.6).
//
// Things sipgo's parser already refuses, so they never get here: a CSeq
// number of 2**31 or more, or one without a method; a Max-Forwards or
// Content-Length that is not a non-negative integer; a datagram shorter than
// its Content-Length (RFC 3261 §18.3); a To or From that does not parse; a
// Request-URI scheme with anything but letters. What it accepts and this
// layer refuses is listed check by check below.
func ValidateRequest(req *gosip.Request, datagram bool) *Rejection {
	if req == nil {
		return badRequest("", "no request")
	}

	// sipgo takes any third request-line token that starts with "SIP" or
	// "sip" as the version. The version is case-insensitive (§7.1).
	if !strings.EqualFold(req.SipVersion, sipVersion) {
		return &Rejection{
			Code:   gosip.StatusVersionNotSupported,
			Reason: "Version Not Supported",
			Detail: "request version " + quoteClip(req.SipVersion),
		}
	}

	// Method = token (§25.1). sipgo keeps whatever precedes the first space,
	// upper-cased, even an empty string or "SIP/2.0".
	if !isToken(string(req.Method)) {
		return badRequest("method", "method "+quoteClip(string(req.Method)))
	}

	if r := checkHeaders(req, datagram); r != nil {
		return r
	}
	return checkRequestURI(req)
}

// headerCounts tallies the header fields whose number RFC 3261 fixes.
type headerCounts struct {
	to, from, callID, cseq, maxForwards, via, contentLength int
}

// countHeaders walks the header list once. sipgo's accessors (req.From() and
// the like) return a single header and hide duplicates: the last one for
// From, To, Call-ID, CSeq, Max-Forwards and Content-Length, the first for
// Via. Compact forms count with their long names (§7.3.3); sipgo's default
// parser already names them in full, but a custom header parser may not.
func countHeaders(req *gosip.Request) headerCounts {
	var c headerCounts
	for _, h := range req.Headers() {
		switch name := h.Name(); len(name) {
		case 1:
			switch name[0] | 0x20 {
			case 't':
				c.to++
			case 'f':
				c.from++
			case 'i':
				c.callID++
			case 'v':
				c.via++
			case 'l':
				c.contentLength++
			}
		case 2:
			if strings.EqualFold(name, "To") {
				c.to++
			}
		case 3:
			if strings.EqualFold(name, "Via") {
				c.via++
			}
		case 4:
			switch {
			case strings.EqualFold(name, "From"):
				c.from++
			case strings.EqualFold(name, "CSeq"):
				c.cseq++
			}
		case 7:
			if strings.EqualFold(name, "Call-ID") {
				c.callID++
			}
		case 12:
			if strings.EqualFold(name, "Max-Forwards") {
				c.maxForwards++
			}
		case 14:
			if strings.EqualFold(name, "Content-Length") {
				c.contentLength++
			}
		}
	}
	return c
}

func checkHeaders(req *gosip.Request, datagram bool) *Rejection {
	c := countHeaders(req)

	// To, From, Call-ID and CSeq are mandatory in every request and appear
	// once (§8.1.1, §20: they are not comma-separated lists). RFC 4475
	// §3.3.1 (insuf) and §3.3.8 (multi01) ask for 400.
	for _, h := range [...]struct {
		name string
		n    int
	}{{"To", c.to}, {"From", c.from}, {"Call-ID", c.callID}, {"CSeq", c.cseq}} {
		switch {
		case h.n == 0:
			return badRequest("missing "+h.name, "no "+h.name+" header")
		case h.n > 1:
			return badRequest("duplicate "+h.name, strconv.Itoa(h.n)+" "+h.name+" headers")
		}
	}
	// Responses travel back along the Via path (§8.1.1.7, §18.2.2).
	if c.via == 0 {
		return badRequest("missing Via", "no Via header")
	}
	// Max-Forwards is single-valued. It is mandatory for RFC 3261 clients
	// (§8.1.1.6), but a missing one is tolerated in an ACK: an ACK gets no
	// response, so refusing it would silently lose the confirmation of a
	// call for want of a header a proxy adds when forwarding anyway
	// (§16.6 step 3). RFC 2543 did not require the header either, and
	// RFC 4475 §3.4.1 (inv2543) asks that such requests be accepted: a
	// request whose top Via lacks the magic cookie is one.
	switch {
	case c.maxForwards > 1:
		return badRequest("duplicate Max-Forwards", strconv.Itoa(c.maxForwards)+" Max-Forwards headers")
	case c.maxForwards == 0 && !req.IsAck() && !fromRFC2543(req):
		return badRequest("missing Max-Forwards", "no Max-Forwards header")
	}
	// Two Content-Length values leave the body's end unknown
	// (RFC 4475 §3.3.9, mcl01). sipgo silently uses the last one.
	if c.contentLength > 1 {
		return badRequest("duplicate Content-Length", strconv.Itoa(c.contentLength)+" Content-Length headers")
	}

	// The headers are present once; the typed accessors are nil only when a
	// custom header parser left a header unparsed and it fails to parse now.
	to, from := req.To(), req.From()
	if to == nil {
		return badRequest("malformed To", "To header does not parse")
	}
	if from == nil {
		return badRequest("malformed From", "From header does not parse")
	}
	if req.CallID() == nil {
		return badRequest("malformed Call-ID", "Call-ID header does not parse")
	}
	cseq := req.CSeq()
	if cseq == nil {
		return badRequest("malformed CSeq", "CSeq header does not parse")
	}
	via := req.Via()
	if via == nil {
		return badRequest("malformed Via", "Via header does not parse")
	}

	// sipgo refuses larger numbers at parse time; a request built in code
	// gets the same rule.
	if cseq.SeqNo > maxCSeq {
		return badRequest("CSeq out of range", "CSeq number "+strconv.FormatUint(uint64(cseq.SeqNo), 10))
	}
	// The CSeq method matches the request method, for ACK and CANCEL too
	// (§8.1.1.5, RFC 4475 §3.1.2.17 and §3.1.2.18).
	if !cseqMethodMatches(req.Method, string(cseq.MethodName)) {
		return badRequest("CSeq method mismatch",
			"request method "+quoteClip(string(req.Method))+", CSeq method "+quoteClip(string(cseq.MethodName)))
	}

	// sipgo reads Max-Forwards as any 32-bit number.
	if c.maxForwards == 1 {
		switch mf := req.MaxForwards(); {
		case mf == nil:
			return badRequest("malformed Max-Forwards", "Max-Forwards header does not parse")
		case mf.Val() > maxMaxForwards:
			return badRequest("Max-Forwards out of range", "Max-Forwards "+strconv.FormatUint(uint64(mf.Val()), 10))
		}
	}

	// sipgo's Via parser gives up quietly on a bad port and leaves the host
	// (and the parameters, branch included) empty; such a Via names nowhere
	// to send the response (§18.2.2).
	if via.Host == "" {
		return badRequest("malformed Via", "top Via has no sent-by host")
	}

	// On a datagram the body ends where the datagram ends (§18.3). sipgo's
	// ParseSIP already discards octets beyond Content-Length (RFC 4475
	// §3.1.1.8, dblreq) and refuses a datagram shorter than it, so a parsed
	// datagram always agrees here: a disagreement means the request was
	// built or altered after parsing, and it is refused rather than trusted.
	if cl := req.ContentLength(); datagram && cl != nil && uint64(*cl) != uint64(len(req.Body())) {
		return badRequest("Content-Length mismatch",
			"Content-Length "+strconv.FormatUint(uint64(*cl), 10)+", body "+strconv.Itoa(len(req.Body()))+" bytes")
	}

	if r := checkAddress("To", &to.Address); r != nil {
		return r
	}
	if r := checkAddress("From", &from.Address); r != nil {
		return r
	}
	// The To header of a REGISTER carries the address-of-record, which must
	// be a SIP or SIPS URI (§10.2); RFC 4475 §3.3.4 (unksm2) has the
	// registrar answer 400. 416 is only for the Request-URI (§21.4.14).
	if req.Method == gosip.REGISTER && !isSIPScheme(to.Address.Scheme) {
		return badRequest("To is not a SIP URI", "REGISTER To scheme "+quoteClip(to.Address.Scheme))
	}
	return nil
}

func checkRequestURI(req *gosip.Request) *Rejection {
	u := &req.Recipient
	switch {
	case isSIPScheme(u.Scheme):
		if r := checkAddress("Request-URI", u); r != nil {
			return r
		}
		// Headers are not allowed in a Request-URI (§19.1.1, Table 1);
		// RFC 4475 §3.1.2.11 (escruri) finds 400 acceptable. Forwarding
		// them would let a caller inject header fields downstream.
		if len(u.Headers) > 0 {
			return badRequest("headers in Request-URI", "Request-URI has ?headers")
		}
		return nil
	case strings.EqualFold(u.Scheme, "tel"):
		// RFC 3966 numbers are routed by the dial plan.
		return nil
	}
	// §8.2.2.1 and §16.3 step 2; RFC 4475 §3.3.2 (unkscm).
	return &Rejection{
		Code:   416, // sipgo names it StatusRequestedRangeNotSatisfiable, after HTTP
		Reason: "Unsupported URI Scheme",
		Detail: "Request-URI scheme " + quoteClip(u.Scheme),
	}
}

// checkAddress refuses a SIP or SIPS URI with no host or an impossible port.
// sipgo's URI parser accepts "sip:", "sip:user@" and "sip:;p", leaving the
// host empty, and takes any integer as the port; hostport is mandatory in
// both schemes (§19.1.1, §25.1). Other schemes are opaque here.
func checkAddress(what string, u *gosip.Uri) *Rejection {
	if !isSIPScheme(u.Scheme) {
		return nil
	}
	if u.Host == "" {
		return badRequest(what+" without host", what+" has no host")
	}
	if u.Port < 0 || u.Port > 65535 {
		return badRequest(what+" port out of range", what+" port "+strconv.Itoa(u.Port))
	}
	return nil
}

// knownMethods are the methods sipgo names; sipgo routes a request to a
// handler by these exact upper-case strings.
var knownMethods = [...]gosip.RequestMethod{
	gosip.INVITE, gosip.ACK, gosip.CANCEL, gosip.BYE, gosip.REGISTER, gosip.OPTIONS,
	gosip.SUBSCRIBE, gosip.NOTIFY, gosip.REFER, gosip.INFO, gosip.MESSAGE,
	gosip.PRACK, gosip.UPDATE, gosip.PUBLISH,
}

// cseqMethodMatches compares the CSeq method with the request-line method.
//
// Methods are case-sensitive (§7.1), but sipgo upper-cases the request-line
// method and keeps the CSeq method as written, so the request line's own
// spelling is lost. A CSeq method that differs only in case is then most
// likely that spelling, as with the extension method of RFC 4475 §3.1.1.2
// (intmeth), and is accepted. The exception is a case variant of a method
// sipgo knows: "invite" is an extension method that sipgo would route as
// INVITE, so there the spellings must agree exactly.
//
// sipgo keeps LWS after the number as part of the method ("1  INVITE"
// gives " INVITE"); the grammar allows it (§25.1), so it is trimmed.
func cseqMethodMatches(method gosip.RequestMethod, cseqMethod string) bool {
	m := strings.Trim(cseqMethod, " \t")
	if m == string(method) {
		return true
	}
	if !strings.EqualFold(m, string(method)) {
		return false
	}
	for _, k := range knownMethods {
		if method == k {
			return false
		}
	}
	return true
}

// fromRFC2543 reports whether the top Via lacks the RFC 3261 magic cookie
// (§8.1.1.7), which marks a request from an RFC 2543 element.
func fromRFC2543(req *gosip.Request) bool {
	via := req.Via()
	if via == nil {
		return false
	}
	branch, _ := via.Params.Get("branch")
	return !strings.HasPrefix(branch, magicCookie)
}

func isSIPScheme(s string) bool {
	return strings.EqualFold(s, "sip") || strings.EqualFold(s, "sips")
}

// isToken reports whether s is a non-empty RFC 3261 token (§25.1).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("-.!%*_+`'~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// badRequest builds a 400 whose reason phrase names the problem. what is
// always a literal from this file, never text from the request.
func badRequest(what, detail string) *Rejection {
	reason := "Bad Request"
	if what != "" {
		reason += " (" + what + ")"
	}
	return &Rejection{Code: gosip.StatusBadRequest, Reason: reason, Detail: detail}
}

// quoteClip quotes at most detailLimit bytes of s for a Detail.
func quoteClip(s string) string {
	if len(s) > detailLimit {
		return strconv.Quote(s[:detailLimit]) + "..."
	}
	return strconv.Quote(s)
}

// RejectionResponse builds the stateless response for a rejected request.
// It returns nil for an ACK: no transaction answers one (RFC 3261 §17), so
// the request is dropped. It copies only the headers the request has, so a
// request missing To, From, Call-ID, CSeq or Via still gets an answer, as
// RFC 4475 §3.3.1 (insuf) asks.
func RejectionResponse(req *gosip.Request, r *Rejection) *gosip.Response {
	if req == nil || r == nil || req.IsAck() {
		return nil
	}
	res := gosip.NewResponseFromRequest(req, r.Code, r.Reason, nil)
	// sipgo copies the request's version into the response; a 505 would
	// then answer in the version it refuses. Responses are SIP/2.0 (§7.2).
	res.SipVersion = sipVersion
	// A stateless UAS must give the same To tag to every retransmission of
	// a request (§8.2.7); sipgo draws a random one.
	if to := req.To(); to != nil && !to.Params.Has("tag") {
		if rto := res.To(); rto != nil {
			rto.Params.Add("tag", statelessTag(req))
		}
	}
	return res
}

// statelessTag derives a To tag from what stays the same across
// retransmissions of one request (§8.2.7, §19.3).
func statelessTag(req *gosip.Request) string {
	h := fnv.New64a()
	if id := req.CallID(); id != nil {
		h.Write([]byte(id.Value()))
	}
	h.Write([]byte{0})
	if from := req.From(); from != nil {
		tag, _ := from.Params.Get("tag")
		h.Write([]byte(tag))
	}
	h.Write([]byte{0})
	if via := req.Via(); via != nil {
		branch, _ := via.Params.Get("branch")
		h.Write([]byte(branch))
	}
	h.Write([]byte{0})
	if cseq := req.CSeq(); cseq != nil {
		fmt.Fprintf(h, "%d %s", cseq.SeqNo, cseq.MethodName)
	}
	return strconv.FormatUint(h.Sum64(), 36)
}
