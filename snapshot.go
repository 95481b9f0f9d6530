package switchboard

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"switchboard/routing"
	"switchboard/sip"
	"switchboard/store"
)

// routingSnapshots builds the inputs of routing.Decide from the store and
// the registrar's live bindings. It reads everything afresh on each call,
// with no cache, so a change made through the admin API applies to the
// next decision. The explain endpoint uses it, and the proxy is to use the
// very same one, so that a call is decided as it is explained.
type routingSnapshots struct {
	db    *store.DB
	sip   *sip.Server
	cache *configCache
}

// decide returns the plan for a call from caller to the user at ext at the
// instant at, with the callee it was decided on. An unknown ext is
// store.ErrNotFound.
func (s routingSnapshots) decide(ctx context.Context, ext string, caller routing.Caller, at time.Time) (routing.Plan, routing.Callee, error) {
	callee, err := s.callee(ctx, ext)
	if err != nil {
		return routing.Plan{}, routing.Callee{}, err
	}
	plan := routing.Decide(routing.Request{Callee: callee, Caller: caller, At: at})
	return plan, callee, nil
}

// callee returns the snapshot of the user at ext that routing.Decide
// needs: the configuration (from the cache, read afresh after any change)
// and the phones' registration state and calls in progress, live from the
// SIP server.
func (s routingSnapshots) callee(ctx context.Context, ext string) (routing.Callee, error) {
	c, err := s.cache.callee(ctx, ext, s.loadCallee)
	if err != nil {
		return routing.Callee{}, err
	}
	bound := make(map[string]bool)
	for _, b := range s.sip.Lookup(ext) {
		bound[b.Phone] = true
	}
	// The cached snapshot is shared: the phone states are this call's own.
	phones := make([]routing.PhoneState, len(c.Phones))
	for i, p := range c.Phones {
		phones[i] = routing.PhoneState{Name: p.Name, Registered: bound[p.Name]}
	}
	c.Phones = phones
	c.ActiveCalls = s.sip.ActiveCalls(ext)
	return c, nil
}

// loadCallee reads from the store what routing.Decide needs of the user at
// ext: time zone, answering rules and the time frames they name,
// allow/block lists, call paths and the user's phones (their registration
// state is added by callee).
//
// The parts are read one after the other, not in one transaction: a change
// landing in between gives a snapshot that mixes before and after, which
// for one call is no worse than the change landing a moment later.
func (s routingSnapshots) loadCallee(ctx context.Context, ext string) (routing.Callee, error) {
	u, err := s.db.Users().FindByExtension(ctx, ext)
	if err != nil {
		return routing.Callee{}, err
	}
	rows, err := s.db.AnsweringRules().Find(ctx, ext)
	if err != nil {
		return routing.Callee{}, err
	}
	ab, err := s.db.AllowBlock().Get(ctx, ext)
	if err != nil {
		return routing.Callee{}, err
	}
	phones, err := s.db.Phones().Find(ctx, store.PhoneFilter{Extension: ext, Limit: 1000})
	if err != nil {
		return routing.Callee{}, err
	}
	return calleeOf(u, rows, ab, phones, func(name string) (store.TimeFrame, bool, error) {
		tf, err := s.db.TimeFrames().FindByName(ctx, name)
		if errors.Is(err, store.ErrNotFound) {
			return store.TimeFrame{}, false, nil
		}
		return tf, err == nil, err
	})
}

// loadDirectory builds the snapshots of every user at once, from one
// store.Directory, for the configuration cache to keep: the callees by
// extension and the users.
func (s routingSnapshots) loadDirectory(ctx context.Context) (map[string]routing.Callee, map[string]store.User, error) {
	n, err := s.db.Users().Count(ctx)
	if err != nil {
		return nil, nil, err
	}
	if 2*n > configCacheMaxEntries {
		return nil, nil, errTooManyUsers
	}
	d, err := s.db.Directory(ctx)
	if err != nil {
		return nil, nil, err
	}
	// Time frame names compare as SQLite's NOCASE does: ASCII letters
	// without case.
	frames := make(map[string]store.TimeFrame, len(d.TimeFrames))
	for _, tf := range d.TimeFrames {
		frames[asciiLower(tf.Name)] = tf
	}
	frame := func(name string) (store.TimeFrame, bool, error) {
		tf, ok := frames[asciiLower(name)]
		return tf, ok, nil
	}
	callees := make(map[string]routing.Callee, len(d.Users))
	users := make(map[string]store.User, len(d.Users))
	for _, u := range d.Users {
		ab, ok := d.AllowBlock[u.Extension]
		if !ok {
			ab = store.AllowBlock{Allowed: []string{}, Blocked: []string{}}
		}
		c, err := calleeOf(u, d.Rules[u.Extension], ab, d.Phones[u.Extension], frame)
		if err != nil {
			return nil, nil, err
		}
		callees[u.Extension] = c
		users[u.Extension] = u
	}
	return callees, users, nil
}

func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}

// calleeOf builds the snapshot of user u from its stored parts; frame finds
// a time frame by name (false when there is none).
func calleeOf(u store.User, rows []store.AnsweringRule, ab store.AllowBlock, phones []store.Phone,
	frame func(name string) (store.TimeFrame, bool, error)) (routing.Callee, error) {
	ext := u.Extension
	loc := time.UTC
	if u.Timezone != "" {
		var err error
		if loc, err = time.LoadLocation(u.Timezone); err != nil {
			return routing.Callee{}, fmt.Errorf("time zone of user %s: %w", ext, err)
		}
	}
	rules := make([]routing.Rule, len(rows))
	frames := make(map[string]routing.TimeFrame, 2)
	for i, row := range rows {
		var err error
		if rules[i], err = routingRule(row); err != nil {
			return routing.Callee{}, fmt.Errorf("answering rule %d of user %s: %w", row.ID, ext, err)
		}
		if _, ok := frames[row.TimeFrame]; ok {
			continue
		}
		tf, found, err := frame(row.TimeFrame)
		if err != nil {
			return routing.Callee{}, err
		}
		if !found {
			// Deleted since the rules were read: routing skips a rule
			// whose frame it does not know.
			continue
		}
		if frames[row.TimeFrame], err = routingTimeFrame(tf); err != nil {
			return routing.Callee{}, fmt.Errorf("time frame %s: %w", tf.Name, err)
		}
	}
	states := make([]routing.PhoneState, len(phones))
	mainPhone := ""
	for i, p := range phones {
		states[i] = routing.PhoneState{Name: p.Name}
		if p.Name == ext {
			// The phone "with the same extension as the user", which a
			// simultaneous ring's include_user rings.
			mainPhone = p.Name
		}
	}
	return routing.Callee{
		Extension:        u.Extension,
		Location:         loc,
		VoicemailEnabled: u.VoicemailEnabled,
		Rules:            rules,
		Frames:           frames,
		AllowBlock: routing.AllowBlock{
			Allowed: ab.Allowed, Blocked: ab.Blocked, BlockAnonymous: ab.BlockAnonymous,
		},
		CallPaths: u.CallPaths,
		Phones:    states,
		MainPhone: mainPhone,
	}, nil
}

// caller returns who a call from from is: a user of this PBX when from is
// one's extension, else an outside number; empty is anonymous.
func (s routingSnapshots) caller(ctx context.Context, from string) (routing.Caller, error) {
	if from == "" {
		return routing.Caller{Anonymous: true}, nil
	}
	u, found, err := s.user(ctx, from)
	switch {
	case err != nil:
		return routing.Caller{}, err
	case !found:
		return routing.Caller{Number: from}, nil
	}
	name := u.CallerIDName
	if name == "" {
		name = joinName(u.FirstName, u.LastName)
	}
	return routing.Caller{Number: from, Name: name, Internal: true, Extension: u.Extension}, nil
}

// user returns the user at ext, through the cache.
func (s routingSnapshots) user(ctx context.Context, ext string) (store.User, bool, error) {
	return s.cache.user(ctx, ext, func(ctx context.Context, ext string) (store.User, error) {
		return s.db.Users().FindByExtension(ctx, ext)
	})
}

// trunk returns the trunk, through the cache: it is read for every
// INVITE (is the source the provider?).
func (s routingSnapshots) trunk(ctx context.Context) (store.Trunk, error) {
	return cachedValue(ctx, s.cache, "trunk", s.db.Trunk().Get)
}

// denyList returns the toll-fraud deny list, through the cache.
func (s routingSnapshots) denyList(ctx context.Context) (routing.DenyList, error) {
	return cachedValue(ctx, s.cache, "deny list", func(ctx context.Context) (routing.DenyList, error) {
		list, err := s.db.DeniedPrefixes().Find(ctx)
		if err != nil {
			return nil, err
		}
		deny := make(routing.DenyList, len(list))
		for i, p := range list {
			deny[i] = p.Prefix
		}
		return deny, nil
	})
}

func joinName(first, last string) string {
	switch {
	case first == "":
		return last
	case last == "":
		return first
	}
	return first + " " + last
}

// routingRule maps a stored answering rule to its routing form.
func routingRule(r store.AnsweringRule) (routing.Rule, error) {
	out := routing.Rule{
		ID:        r.ID,
		TimeFrame: r.TimeFrame,
		Enabled:   r.Enabled,
		DND:       r.DND,
		Screening: r.Screening,
		RingFor:   time.Duration(r.RingForS) * time.Second,
	}
	for _, f := range []struct {
		dst **routing.Destination
		src *store.Forward
	}{
		{&out.ForwardAlways, r.ForwardAlways},
		{&out.ForwardBusy, r.ForwardBusy},
		{&out.ForwardUnanswered, r.ForwardUnanswered},
		{&out.ForwardOffline, r.ForwardOffline},
	} {
		if f.src == nil {
			continue
		}
		d, err := routingDestination(f.src.Kind, f.src.To)
		if err != nil {
			return routing.Rule{}, err
		}
		*f.dst = &d
	}
	if sr := r.SimRing; sr != nil {
		out.SimRing = &routing.SimRing{
			IncludeUser:   sr.IncludeUser,
			RingAllPhones: sr.RingAllPhones,
			Destinations:  make([]routing.SimRingDestination, len(sr.Destinations)),
		}
		for i, sd := range sr.Destinations {
			d, err := routingDestination(sd.Kind, sd.To)
			if err != nil {
				return routing.Rule{}, err
			}
			out.SimRing.Destinations[i] = routing.SimRingDestination{
				Destination: d,
				Delay:       time.Duration(sd.DelayS) * time.Second,
				Confirm:     sd.Confirm,
			}
		}
	}
	return out, nil
}

func routingDestination(kind, to string) (routing.Destination, error) {
	k, err := routing.ParseDestKind(kind)
	if err != nil {
		return routing.Destination{}, err
	}
	return routing.Destination{Kind: k, To: to}, nil
}

// routingTimeFrame maps a stored time frame to its routing form.
func routingTimeFrame(tf store.TimeFrame) (routing.TimeFrame, error) {
	out := routing.TimeFrame{
		Name:   tf.Name,
		Always: tf.Always,
		Weekly: make([]routing.WeeklyRange, len(tf.Weekly)),
		Dates:  make([]routing.DateRange, len(tf.Dates)),
	}
	for i, w := range tf.Weekly {
		r := routing.WeeklyRange{Days: make([]time.Weekday, len(w.Days))}
		for j, d := range w.Days {
			wd, err := routing.ParseWeekday(d)
			if err != nil {
				return routing.TimeFrame{}, err
			}
			r.Days[j] = wd
		}
		var err error
		if r.Start, err = routing.ParseTimeOfDay(w.Start); err != nil {
			return routing.TimeFrame{}, err
		}
		if r.End, err = routing.ParseTimeOfDay(w.End); err != nil {
			return routing.TimeFrame{}, err
		}
		out.Weekly[i] = r
	}
	for i, d := range tf.Dates {
		from, err := routing.ParseDate(d.From)
		if err != nil {
			return routing.TimeFrame{}, err
		}
		to, err := routing.ParseDate(d.To)
		if err != nil {
			return routing.TimeFrame{}, err
		}
		out.Dates[i] = routing.DateRange{From: from, To: to}
	}
	return out, nil
}
