package sip

import (
	"os"
	"path/filepath"
	"testing"

	gosip "github.com/emiago/sipgo/sip"
)

// FuzzValidate feeds arbitrary datagrams through sipgo's parser and, for
// requests, through ValidateRequest and RejectionResponse. Neither may
// panic, and a rejection's status line may carry nothing from the request.
func FuzzValidate(f *testing.F) {
	files, err := filepath.Glob(filepath.Join(tortureDir, "*", "*.dat"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add(newTestRequest("INVITE").withBody("v=0\r\n").bytes())
	f.Add(newTestRequest("ACK").without("Max-Forwards").bytes())
	f.Add([]byte("INVITE sip:bob@example.com SIP/2.0\r\n\r\n"))

	f.Fuzz(func(t *testing.T, data []byte) {
		msg, err := gosip.ParseMessage(data)
		if err != nil {
			return
		}
		req, ok := msg.(*gosip.Request)
		if !ok {
			return
		}
		for _, datagram := range []bool{true, false} {
			r := ValidateRequest(req, datagram)
			if r == nil {
				continue
			}
			switch r.Code {
			case 400, 416, 505:
			default:
				t.Fatalf("status %d", r.Code)
			}
			if !isSafeReason(r.Reason) {
				t.Fatalf("reason %q", r.Reason)
			}
			res := RejectionResponse(req, r)
			if req.IsAck() {
				if res != nil {
					t.Fatal("ACK answered")
				}
				continue
			}
			if res == nil || res.StatusCode != r.Code || res.Reason != r.Reason || res.SipVersion != "SIP/2.0" {
				t.Fatalf("response %v for rejection %+v", res, r)
			}
			_ = res.String()
		}
	})
}

// isSafeReason reports whether a reason phrase is short printable ASCII, so
// it cannot break the status line.
func isSafeReason(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
