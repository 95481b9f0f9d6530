package switchboard

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"switchboard/routing"
	"switchboard/sip"
	"switchboard/store"
)

var (
	_ sip.Router      = (*callRouter)(nil)
	_ sip.TrunkSource = (*callRouter)(nil)
)

// callRouter decides calls for the proxy: it reads what was dialled with
// the dial plan, and for a user's extension runs routing.Decide on the same
// snapshot the explain endpoint shows.
type callRouter struct {
	snaps    routingSnapshots // snaps.sip is set once the SIP server exists
	now      func() time.Time
	log      *slog.Logger
	external externalRate
}

func (r *callRouter) Route(ctx context.Context, caller sip.Caller, dialled string, hops int) (routing.Plan, error) {
	plan, err := r.route(ctx, caller, dialled, hops)
	if err != nil || plan.Action != routing.ActionRing {
		return plan, err
	}
	plan.Record, err = r.recordFor(ctx, caller, plan)
	return plan, err
}

// recordFor lists the users who record a call: the caller's user when
// they or the phone they call from record calls,
// and the users the plan rings when they or one of their phones do (a
// phone of theirs that records makes every call to them recorded,
// whichever phone answers).
// Calls answered by voicemail are not recorded.
func (r *callRouter) recordFor(ctx context.Context, caller sip.Caller, plan routing.Plan) ([]string, error) {
	rp, err := cachedValue(ctx, r.snaps.cache, "recording phones", r.snaps.recordingPhones)
	if err != nil {
		return nil, err
	}
	records := func(ext string) (bool, error) {
		if rp.users[ext] {
			return true, nil
		}
		u, found, err := r.snaps.user(ctx, ext)
		return found && u.RecordCalls, err
	}
	var out []string
	if !caller.FromTrunk && caller.Extension != "" {
		rec, err := records(caller.Extension)
		if err != nil {
			return nil, err
		}
		if rec {
			out = append(out, caller.Extension)
		}
	}
	for _, st := range plan.Stages {
		for _, t := range st.Targets {
			if t.Kind != routing.TargetPhones && t.Kind != routing.TargetPhone {
				continue
			}
			ext := t.To
			if t.Kind == routing.TargetPhone {
				ext = rp.phones[t.To]
				if ext == "" {
					continue
				}
			}
			if slices.Contains(out, ext) {
				continue
			}
			if rec, err := records(ext); err != nil {
				return nil, err
			} else if rec {
				out = append(out, ext)
			}
		}
	}
	return out, nil
}

// recordingPhones are the phones with record_calls: their users by phone
// name, and the users who have one.
type recordingPhones struct {
	phones map[string]string
	users  map[string]bool
}

func (s routingSnapshots) recordingPhones(ctx context.Context) (recordingPhones, error) {
	phones, err := s.db.Phones().RecordingPhones(ctx)
	if err != nil {
		return recordingPhones{}, err
	}
	users := make(map[string]bool, len(phones))
	for _, ext := range phones {
		users[ext] = true
	}
	return recordingPhones{phones: phones, users: users}, nil
}

func (r *callRouter) route(ctx context.Context, caller sip.Caller, dialled string, hops int) (routing.Plan, error) {
	if caller.FromTrunk {
		return r.routeInbound(ctx, caller, dialled, hops)
	}
	from, err := r.snaps.caller(ctx, caller.Extension)
	if err != nil {
		return routing.Plan{}, err
	}
	areaCode := ""
	if u, found, err := r.snaps.user(ctx, caller.Extension); err == nil && found {
		areaCode = u.AreaCode
	}
	st, err := r.snaps.settings(ctx)
	if err != nil {
		return routing.Plan{}, err
	}
	plan := routing.DialPlan{Features: st.features, IsExtension: func(digits string) bool {
		_, found, err := r.snaps.user(ctx, digits)
		return err == nil && found
	}}
	d := plan.Dial(dialled, areaCode)
	switch d.Kind {
	case routing.DialExtension:
		callee, err := r.snaps.callee(ctx, d.To)
		if errors.Is(err, store.ErrNotFound) {
			return reject(404, "Not Found", "no user has extension "+d.To), nil
		}
		if err != nil {
			return routing.Plan{}, err
		}
		plan := routing.Decide(routing.Request{Callee: callee, Caller: from, At: r.now(), Hops: hops})
		return r.denyForwards(ctx, plan)
	case routing.DialExternal, routing.DialEmergency:
		if d.Kind == routing.DialExternal {
			denied, err := r.deniedPrefix(ctx, d.To)
			if err != nil {
				return routing.Plan{}, err
			}
			if denied != "" {
				return reject(403, "Forbidden", "destination "+d.To+" is in the denied prefix "+denied), nil
			}
			// Emergency calls are never limited; other outside calls are.
			if ok, err := r.allowExternal(ctx, caller.Extension); err != nil || !ok {
				return reject(403, "Forbidden", "external call limit of extension "+caller.Extension+" reached"), err
			}
		}
		return routing.Plan{
			Action:      routing.ActionRing,
			Stages:      []routing.Stage{{Targets: []routing.Target{{Kind: routing.TargetExternal, To: d.To}}, OnNoAnswer: routing.StageEnd, OnBusy: routing.StageEnd}},
			Explanation: []string{d.Kind.String() + " number " + d.To + " goes out through the trunk"},
		}, nil
	case routing.DialFeature:
		switch d.Feature {
		case routing.FeatureOwnVoicemail:
			return appPlan(routing.Target{Kind: routing.TargetMailboxAccess, To: caller.Extension},
				"feature "+d.To+": mailbox "+caller.Extension), nil
		case routing.FeatureAnyVoicemail:
			return appPlan(routing.Target{Kind: routing.TargetMailboxAccess}, "feature "+d.To+": mailbox the caller names"), nil
		case routing.FeatureDirectory:
			return appPlan(routing.Target{Kind: routing.TargetDirectory}, "feature "+d.To+": the dial-by-name directory"), nil
		}
		return reject(480, "Temporarily Unavailable", "feature "+d.Feature.String()+" has no voice application"), nil
	}
	return reject(404, "Not Found", d.Reason), nil
}

// appPlan answers a call with a voice application.
func appPlan(t routing.Target, why string) routing.Plan {
	return routing.Plan{
		Action:      routing.ActionRing,
		Stages:      []routing.Stage{{Targets: []routing.Target{t}, OnNoAnswer: routing.StageEnd, OnBusy: routing.StageEnd}},
		Explanation: []string{why},
	}
}

// deniedPrefix returns the deny-list prefix that refuses number, if any.
func (r *callRouter) deniedPrefix(ctx context.Context, number string) (string, error) {
	deny, err := r.snaps.denyList(ctx)
	if err != nil {
		return "", err
	}
	p, _ := deny.Denied(number)
	return p, nil
}

// denyForwards applies the deny list to the external targets of a plan: a
// forward saved before its prefix was denied does not go out. A plan left
// with no target at all is refused with 403, as the number dialled would be.
func (r *callRouter) denyForwards(ctx context.Context, plan routing.Plan) (routing.Plan, error) {
	if plan.Action != routing.ActionRing {
		return plan, nil
	}
	hasExternal := false
	for _, st := range plan.Stages {
		for _, t := range st.Targets {
			hasExternal = hasExternal || t.Kind == routing.TargetExternal
		}
	}
	if !hasExternal {
		return plan, nil
	}
	deny, err := r.snaps.denyList(ctx)
	if err != nil {
		return routing.Plan{}, err
	}
	// The plan's stages may share their slices with the snapshot.
	plan.Stages = slices.Clone(plan.Stages)
	removed, left := 0, 0
	for i := range plan.Stages {
		var kept []routing.Target
		for _, t := range plan.Stages[i].Targets {
			if t.Kind == routing.TargetExternal {
				if p, denied := deny.Denied(t.To); denied {
					removed++
					plan.Explanation = append(slices.Clip(plan.Explanation), "forward to "+t.To+" refused: denied prefix "+p)
					continue
				}
			}
			kept = append(kept, t)
		}
		plan.Stages[i].Targets = kept
		left += len(kept)
	}
	if removed > 0 && left == 0 {
		return reject(403, "Forbidden", plan.Explanation[len(plan.Explanation)-1]), nil
	}
	return plan, nil
}

// Trunk returns the trunk external calls go out through.
func (r *callRouter) Trunk(ctx context.Context) (sip.Trunk, bool, error) {
	t, err := r.snaps.trunk(ctx)
	if err != nil {
		return sip.Trunk{}, false, err
	}
	if t.Host == "" {
		return sip.Trunk{}, false, nil
	}
	return sip.Trunk{Host: t.Host, Port: t.Port, Transport: t.Transport, Username: t.Username,
		Password: t.Password, FromDomain: t.FromDomain, Register: t.Register}, true, nil
}

// OutboundCallerID is the calling user's caller ID towards the provider:
// their caller ID number, else their phone number, else the extension;
// for an emergency number their emergency caller ID when they have one.
func (r *callRouter) OutboundCallerID(ctx context.Context, caller sip.Caller, to string) (sip.CallerID, error) {
	u, found, err := r.snaps.user(ctx, caller.Extension)
	if err != nil {
		return sip.CallerID{}, err
	}
	if !found {
		return sip.CallerID{Number: caller.Extension, Name: caller.Name}, nil
	}
	id := sip.CallerID{Number: u.CallerIDNumber, Name: u.CallerIDName}
	if id.Number == "" {
		id.Number = u.PhoneNumber
	}
	if id.Number == "" {
		id.Number = u.Extension
	}
	if id.Name == "" {
		id.Name = joinName(u.FirstName, u.LastName)
	}
	if (routing.DialPlan{}).Dial(to, "").Kind == routing.DialEmergency && u.EmergencyCallerID != "" {
		id.Number = u.EmergencyCallerID
	}
	return id, nil
}

func reject(code int, reason, why string) routing.Plan {
	return routing.Plan{Action: routing.ActionReject, Code: code, Reason: reason, Explanation: []string{why}}
}

// routeInbound decides a call from the provider: the dialled number (or,
// for a call to our registration, the To number) is one of the users'
// phone numbers, and that user's rules apply; a forward from there names
// the next user's extension. Anything else
// is 404: the trunk is no way out (a call from the provider never goes
// back out unless the user's own rules forward it).
func (r *callRouter) routeInbound(ctx context.Context, caller sip.Caller, dialled string, hops int) (routing.Plan, error) {
	ext := dialled // a forward to another user names its extension
	if hops == 0 {
		idx, err := r.snaps.cache.numberIndex(ctx, r.buildNumberIndex)
		if err != nil {
			return routing.Plan{}, err
		}
		var ok bool
		if ext, ok = idx[e164(dialled)]; !ok && caller.To != "" {
			// A call to our registration at the provider: the
			// Request-URI names the account, To the number.
			ext, ok = idx[e164(caller.To)]
		}
		if !ok {
			return reject(404, "Not Found", "no user has the number "+dialled), nil
		}
	}
	callee, err := r.snaps.callee(ctx, ext)
	if errors.Is(err, store.ErrNotFound) {
		return reject(404, "Not Found", "no user has the number "+dialled), nil
	}
	if err != nil {
		return routing.Plan{}, err
	}
	from := routing.Caller{Number: caller.Number, Name: caller.Name}
	if caller.Number == "" || strings.EqualFold(caller.Number, "anonymous") {
		from = routing.Caller{Anonymous: true}
	}
	return r.denyForwards(ctx, routing.Decide(routing.Request{Callee: callee, Caller: from, At: r.now(), Hops: hops}))
}

// buildNumberIndex maps every user's phone number, in E.164 form, to the
// user's extension.
func (r *callRouter) buildNumberIndex(ctx context.Context) (map[string]string, error) {
	idx := make(map[string]string)
	for offset := 0; ; offset += 1000 {
		users, _, err := r.snaps.db.Users().Find(ctx, store.UserFilter{Limit: 1000, Offset: offset})
		if err != nil {
			return nil, err
		}
		for _, u := range users {
			if u.PhoneNumber != "" {
				idx[e164(u.PhoneNumber)] = u.Extension
			}
		}
		if len(users) < 1000 {
			return idx, nil
		}
	}
}

// e164 reads a number as the dial plan does, so that +14155550100,
// 14155550100 and 4155550100 are the same number; what it cannot read is
// compared as written.
func e164(number string) string {
	if d := (routing.DialPlan{}).Dial(number, ""); d.Kind == routing.DialExternal {
		return d.To
	}
	return number
}

// FromTrunk reports whether ip is one of the provider's addresses.
func (r *callRouter) FromTrunk(ctx context.Context, ip string) (bool, error) {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return false, nil
	}
	t, err := r.snaps.trunk(ctx)
	if err != nil || t.Host == "" {
		return false, err
	}
	for _, src := range t.InboundSources {
		if p, err := netip.ParsePrefix(src); err == nil && p.Contains(addr.Unmap()) {
			return true, nil
		}
		if a, err := netip.ParseAddr(src); err == nil && a == addr.Unmap() {
			return true, nil
		}
	}
	return false, nil
}

// externalRate counts each user's outside calls over the last minute.
type externalRate struct {
	mu    sync.Mutex // guards calls
	calls map[string][]time.Time
}

// allowExternal reports whether ext may start one more outside call: fewer
// than the concurrent limit up now, and within the per-minute limit, where
// it is then counted. The call that hits a limit is logged as a security
// event.
func (r *callRouter) allowExternal(ctx context.Context, ext string) (bool, error) {
	st, err := r.snaps.settings(ctx)
	if err != nil {
		return false, err
	}
	if n := st.ExternalCallsConcurrent; n > 0 && r.snaps.sip != nil && r.snaps.sip.ActiveExternalCalls(ext) >= n {
		r.log.Warn("concurrent external call limit reached", "event", "toll_limit", "extension", ext, "limit_concurrent", n)
		return false, nil
	}
	limit := st.ExternalCallsPerMinute
	if limit == 0 {
		return true, nil
	}
	now := r.now()
	e := &r.external
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.calls == nil {
		e.calls = make(map[string][]time.Time)
	}
	recent := slices.DeleteFunc(e.calls[ext], func(t time.Time) bool { return now.Sub(t) >= time.Minute })
	if len(recent) >= limit {
		e.calls[ext] = recent
		r.log.Warn("external call limit reached", "event", "toll_limit", "extension", ext, "limit_per_minute", limit)
		return false, nil
	}
	e.calls[ext] = append(recent, now)
	// Forget users idle for a minute, so the table stays as small as the
	// set of users calling out.
	if len(e.calls) > 1000 {
		for k, ts := range e.calls {
			if len(ts) == 0 || now.Sub(ts[len(ts)-1]) >= time.Minute {
				delete(e.calls, k)
			}
		}
	}
	return true, nil
}
