package switchboard

import (
	"context"
	"errors"
	"time"

	"switchboard/admin"
	"switchboard/routing"
	"switchboard/store"
)

// The admin API's time frames, answering rules, allow/block lists and
// explanations, over the store and routing.

func (b *adminBackend) ListTimeFrames(ctx context.Context) ([]admin.TimeFrame, error) {
	tfs, err := b.db.TimeFrames().Find(ctx)
	if err != nil {
		return nil, apiError(err, "time frame")
	}
	out := make([]admin.TimeFrame, len(tfs))
	for i, tf := range tfs {
		out[i] = apiTimeFrame(tf)
	}
	return out, nil
}

func (b *adminBackend) CreateTimeFrame(ctx context.Context, in admin.TimeFrameInput) (admin.TimeFrame, error) {
	tf, err := b.db.TimeFrames().Create(ctx, store.TimeFrame{
		Name: in.Name, Weekly: storeWeekly(in.Weekly), Dates: storeDates(in.Dates),
	})
	if err != nil {
		return admin.TimeFrame{}, apiError(err, "time frame")
	}
	return apiTimeFrame(tf), nil
}

func (b *adminBackend) GetTimeFrame(ctx context.Context, name string) (admin.TimeFrame, error) {
	tf, err := b.db.TimeFrames().FindByName(ctx, name)
	if err != nil {
		return admin.TimeFrame{}, apiError(err, "time frame")
	}
	return apiTimeFrame(tf), nil
}

func (b *adminBackend) UpdateTimeFrame(ctx context.Context, name string, p admin.TimeFramePatch) (admin.TimeFrame, error) {
	upd := store.TimeFrameUpdate{Name: p.Name}
	if p.Weekly != nil {
		w := storeWeekly(*p.Weekly)
		upd.Weekly = &w
	}
	if p.Dates != nil {
		d := storeDates(*p.Dates)
		upd.Dates = &d
	}
	tf, err := b.db.TimeFrames().Update(ctx, name, upd)
	if err != nil {
		return admin.TimeFrame{}, apiError(err, "time frame")
	}
	return apiTimeFrame(tf), nil
}

func (b *adminBackend) DeleteTimeFrame(ctx context.Context, name string) error {
	err := b.db.TimeFrames().Delete(ctx, name)
	var ce *store.ConflictError
	if errors.As(err, &ce) && ce.Field == "time_frame" {
		return admin.InUse("time_frame", "the time frame is used by answering rules")
	}
	return apiError(err, "time frame")
}

func (b *adminBackend) ListAnsweringRules(ctx context.Context, ext string) ([]admin.AnsweringRule, error) {
	rules, err := b.db.AnsweringRules().Find(ctx, ext)
	if err != nil {
		return nil, apiError(err, "user")
	}
	return apiRules(rules), nil
}

func (b *adminBackend) CreateAnsweringRule(ctx context.Context, ext string, in admin.AnsweringRuleInput) (admin.AnsweringRule, error) {
	if err := b.checkDeniedForwards(ctx, ext, rulesExternals(map[string]*store.Forward{
		"forward_always": storeForward(in.ForwardAlways), "forward_busy": storeForward(in.ForwardBusy),
		"forward_unanswered": storeForward(in.ForwardUnanswered), "forward_offline": storeForward(in.ForwardOffline),
	}, storeSimRing(in.SimRing))); err != nil {
		return admin.AnsweringRule{}, err
	}
	rule, err := b.db.AnsweringRules().Create(ctx, ext, store.AnsweringRule{
		TimeFrame: in.TimeFrame, Enabled: in.Enabled, DND: in.DND, Screening: in.Screening,
		RingForS:          in.RingForS,
		ForwardAlways:     storeForward(in.ForwardAlways),
		ForwardBusy:       storeForward(in.ForwardBusy),
		ForwardUnanswered: storeForward(in.ForwardUnanswered),
		ForwardOffline:    storeForward(in.ForwardOffline),
		SimRing:           storeSimRing(in.SimRing),
	})
	if err != nil {
		return admin.AnsweringRule{}, apiError(err, "user")
	}
	return apiRule(rule), nil
}

func (b *adminBackend) GetAnsweringRule(ctx context.Context, ext string, id int64) (admin.AnsweringRule, error) {
	rule, err := b.db.AnsweringRules().FindByID(ctx, ext, id)
	if err != nil {
		return admin.AnsweringRule{}, b.ruleError(ctx, ext, err)
	}
	return apiRule(rule), nil
}

func (b *adminBackend) UpdateAnsweringRule(ctx context.Context, ext string, id int64, p admin.AnsweringRulePatch) (admin.AnsweringRule, error) {
	upd := store.AnsweringRuleUpdate{
		TimeFrame: p.TimeFrame, Enabled: p.Enabled, DND: p.DND, Screening: p.Screening, RingForS: p.RingForS,
		ForwardAlways:     storeForwardChange(p.ForwardAlways),
		ForwardBusy:       storeForwardChange(p.ForwardBusy),
		ForwardUnanswered: storeForwardChange(p.ForwardUnanswered),
		ForwardOffline:    storeForwardChange(p.ForwardOffline),
	}
	if p.SimRing.Set {
		upd.SimRing = store.SetNull[store.SimRing]()
		if sr := storeSimRing(p.SimRing.Value); sr != nil {
			upd.SimRing = store.SetTo(*sr)
		}
	}
	var sr *store.SimRing
	if upd.SimRing.Set {
		sr = upd.SimRing.Value
	}
	if err := b.checkDeniedForwards(ctx, ext, rulesExternals(map[string]*store.Forward{
		"forward_always": upd.ForwardAlways.Value, "forward_busy": upd.ForwardBusy.Value,
		"forward_unanswered": upd.ForwardUnanswered.Value, "forward_offline": upd.ForwardOffline.Value,
	}, sr)); err != nil {
		return admin.AnsweringRule{}, err
	}
	rule, err := b.db.AnsweringRules().Update(ctx, ext, id, upd)
	if err != nil {
		return admin.AnsweringRule{}, b.ruleError(ctx, ext, err)
	}
	return apiRule(rule), nil
}

func (b *adminBackend) DeleteAnsweringRule(ctx context.Context, ext string, id int64) error {
	if err := b.db.AnsweringRules().Delete(ctx, ext, id); err != nil {
		return b.ruleError(ctx, ext, err)
	}
	return nil
}

func (b *adminBackend) ReorderAnsweringRules(ctx context.Context, ext string, ids []int64) ([]admin.AnsweringRule, error) {
	rules, err := b.db.AnsweringRules().Reorder(ctx, ext, ids)
	if err != nil {
		return nil, apiError(err, "user")
	}
	return apiRules(rules), nil
}

// ruleError maps an error about one rule of the user at ext. The store
// answers "not found" alike for a missing user and a missing rule; the
// client is told which.
func (b *adminBackend) ruleError(ctx context.Context, ext string, err error) error {
	if !errors.Is(err, store.ErrNotFound) {
		return apiError(err, "answering rule")
	}
	if _, uerr := b.db.Users().FindByExtension(ctx, ext); errors.Is(uerr, store.ErrNotFound) {
		return admin.NotFound("user")
	}
	return admin.NotFound("answering rule")
}

func (b *adminBackend) GetAllowBlock(ctx context.Context, ext string) (admin.AllowBlock, error) {
	ab, err := b.db.AllowBlock().Get(ctx, ext)
	if err != nil {
		return admin.AllowBlock{}, apiError(err, "user")
	}
	return apiAllowBlock(ab), nil
}

func (b *adminBackend) PutAllowBlock(ctx context.Context, ext string, in admin.AllowBlock) (admin.AllowBlock, error) {
	ab, err := b.db.AllowBlock().Put(ctx, ext, store.AllowBlock{
		Allowed: in.Allowed, Blocked: in.Blocked, BlockAnonymous: in.BlockAnonymous,
	})
	if err != nil {
		return admin.AllowBlock{}, apiError(err, "user")
	}
	return apiAllowBlock(ab), nil
}

func (b *adminBackend) Explain(ctx context.Context, ext string, q admin.ExplainQuery) (admin.Explanation, error) {
	snap := b.snaps
	caller, err := snap.caller(ctx, q.From)
	if err != nil {
		return admin.Explanation{}, err
	}
	plan, callee, err := snap.decide(ctx, ext, caller, q.At)
	if err != nil {
		return admin.Explanation{}, apiError(err, "user")
	}
	return apiExplanation(callee, caller, q.At, plan), nil
}

// apiExplanation is plan as the explain endpoint shows it, with at on the
// callee's wall clock, the one its time frames were read on.
func apiExplanation(callee routing.Callee, caller routing.Caller, at time.Time, plan routing.Plan) admin.Explanation {
	loc := callee.Location
	if loc == nil {
		loc = time.UTC
	}
	out := admin.Explanation{
		Extension: callee.Extension,
		At:        at.In(loc),
		Caller: admin.ExplainCaller{
			Number: caller.Number, Name: caller.Name, Extension: caller.Extension,
			Internal: caller.Internal, Anonymous: caller.Anonymous,
		},
		Action:      plan.Action.String(),
		Code:        plan.Code,
		Reason:      plan.Reason,
		Screening:   plan.Screening,
		Stages:      make([]admin.ExplainStage, len(plan.Stages)),
		Explanation: plan.Explanation,
	}
	if i := plan.RuleIndex; i >= 0 && i < len(callee.Rules) {
		out.Rule = &admin.ExplainRule{ID: plan.RuleID, Index: i, TimeFrame: callee.Rules[i].TimeFrame}
	}
	for i, st := range plan.Stages {
		s := admin.ExplainStage{
			TimeoutS:   seconds(st.Timeout),
			OnNoAnswer: stageIndex(st.OnNoAnswer),
			OnBusy:     stageIndex(st.OnBusy),
			Targets:    make([]admin.ExplainTarget, len(st.Targets)),
		}
		for j, t := range st.Targets {
			s.Targets[j] = admin.ExplainTarget{
				Kind: t.Kind.String(), To: t.To, DelayS: seconds(t.Delay), Confirm: t.Confirm,
			}
		}
		out.Stages[i] = s
	}
	return out
}

// seconds rounds d up to whole seconds: rule times are whole seconds, and
// a fraction must not read as 0, "no timer".
func seconds(d time.Duration) int {
	return int((d + time.Second - 1) / time.Second)
}

// stageIndex is nil for routing.StageEnd: the call ends there.
func stageIndex(i int) *int {
	if i == routing.StageEnd {
		return nil
	}
	return &i
}

func apiTimeFrame(tf store.TimeFrame) admin.TimeFrame {
	out := admin.TimeFrame{
		Name: tf.Name, Always: tf.Always,
		Weekly:    make([]admin.WeeklyRange, len(tf.Weekly)),
		Dates:     make([]admin.DateRange, len(tf.Dates)),
		CreatedAt: tf.CreatedAt, UpdatedAt: tf.UpdatedAt,
	}
	for i, w := range tf.Weekly {
		out.Weekly[i] = admin.WeeklyRange{Days: w.Days, Start: w.Start, End: w.End}
	}
	for i, d := range tf.Dates {
		out.Dates[i] = admin.DateRange{From: d.From, To: d.To}
	}
	return out
}

func storeWeekly(ws []admin.WeeklyRange) []store.WeeklyRange {
	out := make([]store.WeeklyRange, len(ws))
	for i, w := range ws {
		out[i] = store.WeeklyRange{Days: w.Days, Start: w.Start, End: w.End}
	}
	return out
}

func storeDates(ds []admin.DateRange) []store.DateRange {
	out := make([]store.DateRange, len(ds))
	for i, d := range ds {
		out[i] = store.DateRange{From: d.From, To: d.To}
	}
	return out
}

func apiRules(rules []store.AnsweringRule) []admin.AnsweringRule {
	out := make([]admin.AnsweringRule, len(rules))
	for i, r := range rules {
		out[i] = apiRule(r)
	}
	return out
}

func apiRule(r store.AnsweringRule) admin.AnsweringRule {
	out := admin.AnsweringRule{
		ID: r.ID, Position: r.Position, IsDefault: r.IsDefault, TimeFrame: r.TimeFrame,
		Enabled: r.Enabled, DND: r.DND, Screening: r.Screening, RingForS: r.RingForS,
		ForwardAlways:     apiForward(r.ForwardAlways),
		ForwardBusy:       apiForward(r.ForwardBusy),
		ForwardUnanswered: apiForward(r.ForwardUnanswered),
		ForwardOffline:    apiForward(r.ForwardOffline),
		CreatedAt:         r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	if sr := r.SimRing; sr != nil {
		out.SimRing = &admin.SimRing{
			IncludeUser: sr.IncludeUser, RingAllPhones: sr.RingAllPhones,
			Destinations: make([]admin.SimRingDestination, len(sr.Destinations)),
		}
		for i, d := range sr.Destinations {
			out.SimRing.Destinations[i] = admin.SimRingDestination{Kind: d.Kind, To: d.To, DelayS: d.DelayS, Confirm: &d.Confirm}
		}
	}
	return out
}

func apiForward(f *store.Forward) *admin.Forward {
	if f == nil {
		return nil
	}
	return &admin.Forward{Kind: f.Kind, To: f.To}
}

func storeForward(f *admin.Forward) *store.Forward {
	if f == nil {
		return nil
	}
	return &store.Forward{Kind: f.Kind, To: f.To}
}

func storeForwardChange(o admin.Optional[admin.Forward]) store.Nullable[store.Forward] {
	switch {
	case !o.Set:
		return store.Nullable[store.Forward]{}
	case o.Value == nil:
		return store.SetNull[store.Forward]()
	}
	return store.SetTo(store.Forward{Kind: o.Value.Kind, To: o.Value.To})
}

func storeSimRing(s *admin.SimRing) *store.SimRing {
	if s == nil {
		return nil
	}
	out := &store.SimRing{
		IncludeUser: s.IncludeUser, RingAllPhones: s.RingAllPhones,
		Destinations: make([]store.SimRingDestination, len(s.Destinations)),
	}
	for i, d := range s.Destinations {
		// Off-net answers are confirmed unless the admin said otherwise.
		confirm := d.Kind == routing.DestExternal.String()
		if d.Confirm != nil {
			confirm = *d.Confirm
		}
		out.Destinations[i] = store.SimRingDestination{Kind: d.Kind, To: d.To, DelayS: d.DelayS, Confirm: confirm}
	}
	return out
}

func apiAllowBlock(ab store.AllowBlock) admin.AllowBlock {
	return admin.AllowBlock{Allowed: ab.Allowed, Blocked: ab.Blocked, BlockAnonymous: ab.BlockAnonymous}
}
