package sip

import (
	"context"
	"crypto/rand"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	gosip "github.com/emiago/sipgo/sip"
)

// MWISubscription is a phone's subscription to its user's message-waiting
// state (RFC 3842): the dialog NOTIFYs go in.
type MWISubscription struct {
	Phone     string
	Extension string
	CallID    string
	FromTag   string // the phone's
	ToTag     string // ours
	Contact   string // where NOTIFYs go
	Source    string // host:port the SUBSCRIBE came from
	Transport string
	CSeq      uint32 // of the NOTIFY to send
	ExpiresAt time.Time
}

// Mailboxes is what message-waiting needs of voicemail: counts, and the
// store of subscriptions (kept in the store, so that any engine can notify
// any phone). It is set with WithMailboxes; without it SUBSCRIBE for
// message-summary is refused and nothing is notified.
type Mailboxes interface {
	// MailboxCounts returns the new and saved message counts of the user
	// at ext; false when the user has no voicemail. Registrations lead to
	// calls of it (in the background, a few per extension and minute), so
	// it should read, not write.
	MailboxCounts(ctx context.Context, ext string) (newMsgs, saved int, ok bool, err error)
	// SaveMWISubscription creates, refreshes or (expiry not after now)
	// removes a subscription.
	SaveMWISubscription(ctx context.Context, s MWISubscription, now time.Time) error
	// MWISubscriptions returns the live subscriptions to the mailbox of
	// ext, each with the CSeq of its next NOTIFY.
	MWISubscriptions(ctx context.Context, ext string, now time.Time) ([]MWISubscription, error)
	// MWISubscribers returns the phones with a live subscription to the
	// mailbox of ext; unlike MWISubscriptions it advances no CSeq.
	MWISubscribers(ctx context.Context, ext string, now time.Time) ([]string, error)
	// MWIMailboxes returns the extensions whose mailbox has a live
	// subscription.
	MWIMailboxes(ctx context.Context, now time.Time) ([]string, error)
}

// WithMailboxes enables message-waiting indication.
func WithMailboxes(m Mailboxes) Option { return func(s *Server) { s.mailboxes = m } }

// MWI subscription lifetimes: asked-for values are clamped to these.
const (
	mwiDefaultExpires = 3600
	mwiMinExpires     = 60
	mwiMaxExpires     = 86400
	// mwiConcurrency bounds the NOTIFY transactions in flight; beyond it
	// notifications wait their turn rather than pile up.
	mwiConcurrency = 64
	mwiTimeout     = 10 * time.Second
)

// messageSummary is the application/simple-message-summary body (RFC 3842
// §5.2) for a mailbox.
func messageSummary(account string, newMsgs, saved int) string {
	waiting := "no"
	if newMsgs > 0 {
		waiting = "yes"
	}
	return fmt.Sprintf("Messages-Waiting: %s\r\nMessage-Account: %s\r\nVoice-Message: %d/%d (0/0)\r\n",
		waiting, account, max(newMsgs, 0), max(saved, 0))
}

// isMessageSummary reports whether req's Event is message-summary.
func isMessageSummary(req *gosip.Request) bool {
	h := req.GetHeader("Event")
	if h == nil {
		return false
	}
	ev, _, _ := strings.Cut(h.Value(), ";")
	return strings.EqualFold(strings.TrimSpace(ev), "message-summary")
}

// subscribe serves a SUBSCRIBE (RFC 6665) to a mailbox's message-summary:
// the phone authenticates like a REGISTER, may only watch its own user's
// mailbox, and gets a NOTIFY with the counts at once.
func (s *Server) subscribe(req *gosip.Request) *gosip.Response {
	if !isMessageSummary(req) {
		res := gosip.NewResponseFromRequest(req, 489, "Bad Event", nil)
		res.AppendHeader(gosip.NewHeader("Allow-Events", "message-summary"))
		return res
	}
	if s.mailboxes == nil {
		return gosip.NewResponseFromRequest(req, 489, "Bad Event", nil)
	}
	phone, res, outcome := s.authenticate(req, false)
	if outcome != authOK {
		return res
	}
	if u := req.Recipient.User; u != "" && u != phone.Extension && u != phone.Name {
		return gosip.NewResponseFromRequest(req, 403, "Forbidden (not your mailbox)", nil)
	}
	expires := mwiDefaultExpires
	if h := req.GetHeader("Expires"); h != nil {
		n, err := strconv.Atoi(strings.TrimSpace(h.Value()))
		if err != nil || n < 0 {
			return gosip.NewResponseFromRequest(req, 400, "Bad Request (Expires)", nil)
		}
		expires = n
	}
	if expires != 0 {
		expires = min(max(expires, mwiMinExpires), mwiMaxExpires)
	}
	contact := req.Contact()
	if contact == nil && expires != 0 {
		return gosip.NewResponseFromRequest(req, 400, "Bad Request (no Contact)", nil)
	}
	from, to := req.From(), req.To()
	fromTag, _ := from.Params.Get("tag")
	toTag, _ := to.Params.Get("tag")
	if toTag == "" {
		toTag = strings.ToLower(rand.Text()[:12])
	}
	now := s.now()
	sub := MWISubscription{
		Phone: phone.Name, Extension: phone.Extension, CallID: req.CallID().Value(), FromTag: fromTag, ToTag: toTag,
		Source: req.Source(), Transport: strings.ToUpper(req.Transport()), ExpiresAt: now.Add(time.Duration(expires) * time.Second),
	}
	if contact != nil {
		sub.Contact = contact.Address.String()
	}
	ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
	defer cancel()
	if err := s.mailboxes.SaveMWISubscription(ctx, sub, now); err != nil {
		s.log.Error("save MWI subscription", "phone", phone.Name, "error", err)
		return gosip.NewResponseFromRequest(req, 500, "Server Internal Error", nil)
	}
	res = gosip.NewResponseFromRequest(req, 200, "OK", nil)
	if rt := res.To(); rt != nil {
		if _, ok := rt.Params.Get("tag"); !ok {
			rt.Params.Add("tag", toTag)
		}
	}
	res.AppendHeader(gosip.NewHeader("Expires", strconv.Itoa(expires)))
	host, port := s.localHostPort(sub.Transport)
	res.AppendHeader(&gosip.ContactHeader{Address: gosip.Uri{Scheme: "sip", User: phone.Extension, Host: host, Port: port,
		UriParams: gosip.NewParams(), Headers: gosip.NewParams()}, Params: gosip.NewParams()})
	// The first NOTIFY follows the 200 (RFC 6665 §4.2.1.2): sent from
	// another goroutine, after the answer is on its way.
	if expires == 0 {
		// The last NOTIFY of the dialog (RFC 6665 §4.2.1.2); its row is
		// gone, so its CSeq comes from the clock, above any counted one.
		sub.CSeq = uint32(now.Unix() & 0x7fffffff)
		// Without its dialog the phone is told by unsolicited NOTIFYs
		// again, from its next REGISTER on.
		s.mwi.forget(phone.Extension)
		s.NotifyMailboxSoon(phone.Extension, &sub, "terminated;reason=timeout")
		return res
	}
	// Every subscription of the mailbox is notified, this one included,
	// each with the next CSeq of its dialog from the store.
	s.NotifyMailboxSoon(phone.Extension, nil, "")
	return res
}

// NotifyMailbox tells the phones of the user at ext the state of the
// mailbox: a NOTIFY in each live subscription, and an unsolicited one to
// each registered contact of a phone without a subscription (many desk
// phones never subscribe). It returns once every NOTIFY is answered or has
// timed out.
func (s *Server) NotifyMailbox(ctx context.Context, ext string) {
	if s.mailboxes == nil {
		return
	}
	s.notifyMailbox(ctx, ext, nil, "")
}

// NotifyMailboxSoon is NotifyMailbox in the background. With only set, it
// notifies that one subscription, in state.
func (s *Server) NotifyMailboxSoon(ext string, only *MWISubscription, state string) {
	if s.mailboxes == nil || s.ctx == nil || !s.proxy.track() {
		return
	}
	go func() {
		defer s.proxy.wg.Done()
		ctx, cancel := context.WithTimeout(s.ctx, 2*mwiTimeout)
		defer cancel()
		s.notifyMailbox(ctx, ext, only, state)
	}()
}

func (s *Server) notifyMailbox(ctx context.Context, ext string, only *MWISubscription, state string) {
	newMsgs, saved, ok, err := s.mailboxes.MailboxCounts(ctx, ext)
	if err != nil {
		s.log.Error("mailbox counts", "extension", ext, "error", err)
		return
	}
	if !ok {
		newMsgs, saved = 0, 0
	}
	body := messageSummary("sip:"+ext+"@"+s.cfg.Realm, newMsgs, saved)
	now := s.now()
	counts := mwiCounts{newMsgs, saved}
	var subs []MWISubscription
	if only != nil {
		subs = []MWISubscription{*only}
	} else if subs, err = s.mailboxes.MWISubscriptions(ctx, ext, now); err != nil {
		s.log.Error("MWI subscriptions", "extension", ext, "error", err)
		return
	} else {
		st := mailboxState{counts: counts, ok: ok, read: now}
		for _, sub := range subs {
			st.subscribed = append(st.subscribed, sub.Phone)
		}
		s.mwi.learn(ext, st)
	}
	subscribed := map[string]bool{}
	done := make(chan struct{}, len(subs)+16)
	pending := 0
	for _, sub := range subs {
		subscribed[sub.Phone] = true
		st := state
		if st == "" {
			st = "active;expires=" + strconv.Itoa(max(int(sub.ExpiresAt.Sub(now)/time.Second), 0))
		}
		req := s.notifyRequest(sub, ext, st, body)
		pending++
		go func() { s.sendNotify(ctx, req); done <- struct{}{} }()
	}
	if only == nil {
		for _, b := range s.Lookup(ext) {
			if subscribed[b.Phone] {
				continue
			}
			req, ok := s.unsolicitedNotify(b, ext, body)
			if !ok {
				continue
			}
			s.bindings.markMWI(b.AOR, b.Phone, b.Contact, mwiMark{at: now, counts: counts})
			pending++
			go func() { s.sendNotify(ctx, req); done <- struct{}{} }()
		}
	}
	for range pending {
		<-done
	}
}

// notifyRequest builds the NOTIFY of a subscription's dialog: our From
// (tag: our To tag of the SUBSCRIBE), to the phone's Contact, sent where
// the SUBSCRIBE came from.
func (s *Server) notifyRequest(sub MWISubscription, ext, state, body string) *gosip.Request {
	var target gosip.Uri
	if err := gosip.ParseUri(sub.Contact, &target); err != nil {
		target = gosip.Uri{Scheme: "sip", User: sub.Phone, Host: sourceIP(sub.Source), UriParams: gosip.NewParams(), Headers: gosip.NewParams()}
	}
	req := s.newNotify(target, ext, sub.Phone, sub.CallID, sub.ToTag, sub.FromTag, sub.CSeq, sub.Transport, state, body)
	req.SetDestination(sub.Source)
	return req
}

// unsolicitedNotify builds an out-of-dialog NOTIFY for a registered
// contact of a phone that has not subscribed.
func (s *Server) unsolicitedNotify(b Binding, ext, body string) (*gosip.Request, bool) {
	var target gosip.Uri
	if err := gosip.ParseUri(b.Contact, &target); err != nil {
		return nil, false
	}
	network := strings.ToUpper(b.Transport)
	if network == "" {
		network = "UDP"
	}
	req := s.newNotify(target, ext, b.Phone, strings.ToLower(rand.Text()), strings.ToLower(rand.Text()[:12]), "", 1,
		network, "active", body)
	req.SetDestination(b.target())
	return req, true
}

func (s *Server) newNotify(target gosip.Uri, ext, phone, callID, ourTag, theirTag string, cseq uint32, network, state, body string) *gosip.Request {
	return s.notifyFor(target, ext, phone, callID, ourTag, theirTag, cseq, network, "message-summary", state,
		"application/simple-message-summary", body)
}

// notifyFor builds a NOTIFY of event to a phone; state and contentType
// may be empty (no Subscription-State, no body).
func (s *Server) notifyFor(target gosip.Uri, ext, phone, callID, ourTag, theirTag string, cseq uint32, network, event, state, contentType, body string) *gosip.Request {
	req := gosip.NewRequest(gosip.NOTIFY, target)
	host, port := s.localHostPort(network)
	req.AppendHeader(s.ownVia(network))
	mf := gosip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	account := gosip.Uri{Scheme: "sip", User: ext, Host: s.cfg.Realm, UriParams: gosip.NewParams(), Headers: gosip.NewParams()}
	from := &gosip.FromHeader{Address: account, Params: gosip.NewParams()}
	from.Params.Add("tag", ourTag)
	req.AppendHeader(from)
	to := &gosip.ToHeader{Address: gosip.Uri{Scheme: "sip", User: phone, Host: s.cfg.Realm, UriParams: gosip.NewParams(),
		Headers: gosip.NewParams()}, Params: gosip.NewParams()}
	if theirTag != "" {
		to.Params.Add("tag", theirTag)
	}
	req.AppendHeader(to)
	cid := gosip.CallIDHeader(callID)
	req.AppendHeader(&cid)
	req.AppendHeader(&gosip.CSeqHeader{SeqNo: cseq, MethodName: gosip.NOTIFY})
	req.AppendHeader(&gosip.ContactHeader{Address: gosip.Uri{Scheme: "sip", User: ext, Host: host, Port: port,
		UriParams: gosip.NewParams(), Headers: gosip.NewParams()}, Params: gosip.NewParams()})
	req.AppendHeader(gosip.NewHeader("Event", event))
	if state != "" {
		req.AppendHeader(gosip.NewHeader("Subscription-State", state))
	}
	if contentType != "" {
		req.AppendHeader(gosip.NewHeader("Content-Type", contentType))
	}
	req.SetBody([]byte(body))
	req.SetTransport(network)
	if network == "UDP" {
		if la, ok := s.listenerAddr(); ok {
			req.Laddr = la
		}
	}
	return req
}

// sendNotify runs one NOTIFY transaction, once one of the mwiConcurrency
// slots is free; the answer only matters for the log.
func (s *Server) sendNotify(ctx context.Context, req *gosip.Request) {
	select {
	case s.mwiSlots <- struct{}{}:
		defer func() { <-s.mwiSlots }()
	case <-ctx.Done():
		return
	}
	s.runNotify(ctx, req)
}

// startNotify waits for a free slot, then runs the NOTIFY transaction in a
// goroutine that sends waits for. It returns false when ctx ended first.
// A caller with many NOTIFYs to send thus holds back rather than leaves
// goroutines queueing for slots.
func (s *Server) startNotify(ctx context.Context, req *gosip.Request, sends *sync.WaitGroup) bool {
	select {
	case s.mwiSlots <- struct{}{}:
	case <-ctx.Done():
		return false
	}
	sends.Add(1)
	go func() {
		defer sends.Done()
		defer func() { <-s.mwiSlots }()
		s.runNotify(ctx, req)
	}()
	return true
}

func (s *Server) runNotify(ctx context.Context, req *gosip.Request) {
	ctx, cancel := context.WithTimeout(ctx, mwiTimeout)
	defer cancel()
	tx, err := s.proxy.client.TransactionRequest(ctx, req, noBuild)
	if err != nil {
		s.log.Debug("send NOTIFY", "to", req.Destination(), "error", err)
		return
	}
	defer tx.Terminate()
	for {
		select {
		case res := <-tx.Responses():
			if res.IsProvisional() {
				continue
			}
			s.metrics.notifies.WithLabelValues(strconv.Itoa(res.StatusCode/100) + "xx").Inc()
			if res.StatusCode == 481 {
				s.log.Debug("MWI subscription gone at the phone", "to", req.Destination())
			}
			return
		case <-tx.Done():
			s.metrics.notifies.WithLabelValues("timeout").Inc()
			return
		case <-ctx.Done():
			s.metrics.notifies.WithLabelValues("timeout").Inc()
			return
		}
	}
}

// Resync asks every registered contact of phone (of the user at ext) to
// fetch its provisioning file again: an out-of-dialog NOTIFY with Event
// event (check-sync, resync, ...), as desk phones expect. It returns how
// many contacts were asked, once each has answered or timed out.
func (s *Server) Resync(ctx context.Context, ext, phone, event string) int {
	var reqs []*gosip.Request
	for _, b := range s.Lookup(ext) {
		if b.Phone != phone {
			continue
		}
		var target gosip.Uri
		if err := gosip.ParseUri(b.Contact, &target); err != nil {
			continue
		}
		network := strings.ToUpper(b.Transport)
		if network == "" {
			network = "UDP"
		}
		req := s.notifyFor(target, ext, phone, strings.ToLower(rand.Text()), strings.ToLower(rand.Text()[:12]), "", 1,
			network, event, "", "", "")
		req.SetDestination(b.target())
		reqs = append(reqs, req)
	}
	done := make(chan struct{}, len(reqs))
	for _, req := range reqs {
		go func() { s.sendNotify(ctx, req); done <- struct{}{} }()
	}
	for range reqs {
		<-done
	}
	return len(reqs)
}
