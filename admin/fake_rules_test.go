package admin

import (
	"context"
	"maps"
	"slices"
	"strings"
	"time"
)

// The fake's time frames, answering rules and allow/block lists, with the
// rules a real backend applies: unique frame names ignoring case, the
// built-in "always" frame fixed, frames in use kept, one default rule per
// user that cannot go, existing time frames only.

func (f *fakeBackend) findFrame(name string) (*TimeFrame, bool) {
	for n, tf := range f.timeFrames {
		if strings.EqualFold(n, name) {
			return tf, true
		}
	}
	return nil, false
}

func checkFakeFrame(tf TimeFrame) error {
	if tf.Name == "" {
		return Invalid("name", "token", "name must be 1 to 64 letters, digits, spaces or . _ -")
	}
	if len(tf.Weekly) == 0 && len(tf.Dates) == 0 {
		return Invalid("weekly", "required", "a time frame needs at least one weekly or date entry")
	}
	for _, w := range tf.Weekly {
		if len(w.Start) != 5 || len(w.End) != 5 {
			return Invalid("weekly", "time", "start and end are HH:MM")
		}
	}
	return nil
}

func (f *fakeBackend) ListTimeFrames(context.Context) ([]TimeFrame, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(); err != nil {
		return nil, err
	}
	out := []TimeFrame{*f.timeFrames["always"]}
	for _, name := range slices.Sorted(maps.Keys(f.timeFrames)) {
		if name != "always" {
			out = append(out, *f.timeFrames[name])
		}
	}
	return out, nil
}

func (f *fakeBackend) CreateTimeFrame(_ context.Context, in TimeFrameInput) (TimeFrame, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(); err != nil {
		return TimeFrame{}, err
	}
	tf := TimeFrame{Name: in.Name, Weekly: in.Weekly, Dates: in.Dates, CreatedAt: f.now, UpdatedAt: f.now}
	if err := checkFakeFrame(tf); err != nil {
		return TimeFrame{}, err
	}
	if _, taken := f.findFrame(in.Name); taken {
		return TimeFrame{}, Conflict("name")
	}
	f.timeFrames[tf.Name] = &tf
	return tf, nil
}

func (f *fakeBackend) GetTimeFrame(_ context.Context, name string) (TimeFrame, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(); err != nil {
		return TimeFrame{}, err
	}
	tf, ok := f.findFrame(name)
	if !ok {
		return TimeFrame{}, NotFound("time frame")
	}
	return *tf, nil
}

func (f *fakeBackend) UpdateTimeFrame(_ context.Context, name string, p TimeFramePatch) (TimeFrame, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(); err != nil {
		return TimeFrame{}, err
	}
	tf, ok := f.findFrame(name)
	if !ok {
		return TimeFrame{}, NotFound("time frame")
	}
	if tf.Always {
		return TimeFrame{}, Invalid("name", "builtin", "the built-in time frame always cannot be changed")
	}
	next := *tf
	set(&next.Name, p.Name)
	set(&next.Weekly, p.Weekly)
	set(&next.Dates, p.Dates)
	if err := checkFakeFrame(next); err != nil {
		return TimeFrame{}, err
	}
	if other, taken := f.findFrame(next.Name); taken && other != tf {
		return TimeFrame{}, Conflict("name")
	}
	next.UpdatedAt = f.now.Add(time.Minute)
	delete(f.timeFrames, tf.Name)
	f.timeFrames[next.Name] = &next
	for _, rules := range f.rules {
		for _, r := range rules {
			if r.TimeFrame == tf.Name {
				r.TimeFrame = next.Name
			}
		}
	}
	return next, nil
}

func (f *fakeBackend) DeleteTimeFrame(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(); err != nil {
		return err
	}
	tf, ok := f.findFrame(name)
	if !ok {
		return NotFound("time frame")
	}
	if tf.Always {
		return Invalid("name", "builtin", "the built-in time frame always cannot be deleted")
	}
	for _, rules := range f.rules {
		for _, r := range rules {
			if r.TimeFrame == tf.Name {
				return InUse("time_frame", "the time frame is used by answering rules")
			}
		}
	}
	delete(f.timeFrames, tf.Name)
	return nil
}

// userRules returns the rules of the user at ext. The caller holds f.mu.
func (f *fakeBackend) userRules(ext string) ([]*AnsweringRule, error) {
	if _, ok := f.users[ext]; !ok {
		return nil, NotFound("user")
	}
	return f.rules[ext], nil
}

func (f *fakeBackend) rule(ext string, id int64) (*AnsweringRule, int, error) {
	rules, err := f.userRules(ext)
	if err != nil {
		return nil, 0, err
	}
	for i, r := range rules {
		if r.ID == id {
			return r, i, nil
		}
	}
	return nil, 0, NotFound("answering rule")
}

func (f *fakeBackend) checkFakeRule(r *AnsweringRule) error {
	tf, ok := f.findFrame(r.TimeFrame)
	if !ok {
		return Invalid("time_frame", "exists", "no such time frame")
	}
	r.TimeFrame = tf.Name
	if r.IsDefault && r.TimeFrame != "always" {
		return Invalid("time_frame", "default_rule", "the default rule always uses the time frame always")
	}
	for _, fw := range []struct {
		name string
		fw   *Forward
	}{
		{"forward_always", r.ForwardAlways}, {"forward_busy", r.ForwardBusy},
		{"forward_unanswered", r.ForwardUnanswered}, {"forward_offline", r.ForwardOffline},
	} {
		if fw.fw != nil && !slices.Contains([]string{"user", "handset", "voicemail", "external"}, fw.fw.Kind) {
			return Invalid(fw.name, "enum", "kind must be one of user, handset, voicemail, external")
		}
	}
	return nil
}

// renumberRules sets the positions of rules to their order. The caller
// holds f.mu.
func renumberRules(rules []*AnsweringRule) {
	for i, r := range rules {
		r.Position = i
	}
}

func copyRules(rules []*AnsweringRule) []AnsweringRule {
	out := make([]AnsweringRule, len(rules))
	for i, r := range rules {
		out[i] = *r
	}
	return out
}

func (f *fakeBackend) ListAnsweringRules(_ context.Context, ext string) ([]AnsweringRule, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(); err != nil {
		return nil, err
	}
	rules, err := f.userRules(ext)
	if err != nil {
		return nil, err
	}
	return copyRules(rules), nil
}

func (f *fakeBackend) CreateAnsweringRule(_ context.Context, ext string, in AnsweringRuleInput) (AnsweringRule, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(); err != nil {
		return AnsweringRule{}, err
	}
	rules, err := f.userRules(ext)
	if err != nil {
		return AnsweringRule{}, err
	}
	r := &AnsweringRule{
		TimeFrame: in.TimeFrame, Enabled: in.Enabled, DND: in.DND, Screening: in.Screening,
		RingForS: in.RingForS, ForwardAlways: in.ForwardAlways, ForwardBusy: in.ForwardBusy,
		ForwardUnanswered: in.ForwardUnanswered, ForwardOffline: in.ForwardOffline,
		SimRing: in.SimRing, CreatedAt: f.now, UpdatedAt: f.now,
	}
	if err := f.checkFakeRule(r); err != nil {
		return AnsweringRule{}, err
	}
	f.nextRuleID++
	r.ID = f.nextRuleID
	// Just before the default rule when that is last, as the store does.
	at := len(rules)
	if at > 0 && rules[at-1].IsDefault {
		at--
	}
	rules = slices.Insert(rules, at, r)
	renumberRules(rules)
	f.rules[ext] = rules
	return *r, nil
}

func (f *fakeBackend) GetAnsweringRule(_ context.Context, ext string, id int64) (AnsweringRule, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(); err != nil {
		return AnsweringRule{}, err
	}
	r, _, err := f.rule(ext, id)
	if err != nil {
		return AnsweringRule{}, err
	}
	return *r, nil
}

func (f *fakeBackend) UpdateAnsweringRule(_ context.Context, ext string, id int64, p AnsweringRulePatch) (AnsweringRule, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(); err != nil {
		return AnsweringRule{}, err
	}
	f.lastPatch = p
	r, _, err := f.rule(ext, id)
	if err != nil {
		return AnsweringRule{}, err
	}
	next := *r
	set(&next.TimeFrame, p.TimeFrame)
	set(&next.Enabled, p.Enabled)
	set(&next.DND, p.DND)
	set(&next.Screening, p.Screening)
	set(&next.RingForS, p.RingForS)
	setOptional(&next.ForwardAlways, p.ForwardAlways)
	setOptional(&next.ForwardBusy, p.ForwardBusy)
	setOptional(&next.ForwardUnanswered, p.ForwardUnanswered)
	setOptional(&next.ForwardOffline, p.ForwardOffline)
	setOptional(&next.SimRing, p.SimRing)
	if err := f.checkFakeRule(&next); err != nil {
		return AnsweringRule{}, err
	}
	next.UpdatedAt = f.now.Add(time.Minute)
	*r = next
	return next, nil
}

func setOptional[T any](dst **T, o Optional[T]) {
	if o.Set {
		*dst = o.Value
	}
}

func (f *fakeBackend) DeleteAnsweringRule(_ context.Context, ext string, id int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(); err != nil {
		return err
	}
	r, i, err := f.rule(ext, id)
	if err != nil {
		return err
	}
	if r.IsDefault {
		return Invalid("id", "default_rule", "the default rule cannot be deleted")
	}
	f.rules[ext] = slices.Delete(f.rules[ext], i, i+1)
	renumberRules(f.rules[ext])
	return nil
}

func (f *fakeBackend) ReorderAnsweringRules(_ context.Context, ext string, ids []int64) ([]AnsweringRule, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(); err != nil {
		return nil, err
	}
	rules, err := f.userRules(ext)
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]*AnsweringRule, len(rules))
	for _, r := range rules {
		byID[r.ID] = r
	}
	if len(ids) != len(rules) {
		return nil, Invalid("ids", "permutation", "must list each of the user's answering rule ids exactly once")
	}
	next := make([]*AnsweringRule, 0, len(ids))
	for _, id := range ids {
		r, ok := byID[id]
		if !ok {
			return nil, Invalid("ids", "permutation", "must list each of the user's answering rule ids exactly once")
		}
		delete(byID, id)
		next = append(next, r)
	}
	renumberRules(next)
	f.rules[ext] = next
	return copyRules(next), nil
}

func (f *fakeBackend) GetAllowBlock(_ context.Context, ext string) (AllowBlock, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(); err != nil {
		return AllowBlock{}, err
	}
	if _, ok := f.users[ext]; !ok {
		return AllowBlock{}, NotFound("user")
	}
	// Never set: nil lists, which the handler must answer as [].
	return f.allowBlock[ext], nil
}

func (f *fakeBackend) PutAllowBlock(_ context.Context, ext string, ab AllowBlock) (AllowBlock, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(); err != nil {
		return AllowBlock{}, err
	}
	if _, ok := f.users[ext]; !ok {
		return AllowBlock{}, NotFound("user")
	}
	for _, b := range ab.Blocked {
		if slices.Contains(ab.Allowed, b) {
			return AllowBlock{}, Invalid("blocked", "both", "a number is both allowed and blocked")
		}
	}
	f.allowBlock[ext] = ab
	return ab, nil
}

func (f *fakeBackend) Explain(_ context.Context, ext string, q ExplainQuery) (Explanation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(); err != nil {
		return Explanation{}, err
	}
	if _, ok := f.users[ext]; !ok {
		return Explanation{}, NotFound("user")
	}
	f.lastExplain = q
	ex := f.explanation
	ex.Extension = ext
	ex.At = q.At
	return ex, nil
}
