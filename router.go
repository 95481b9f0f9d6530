package switchboard

import (
	"context"
	"errors"
	"time"

	"switchboard/routing"
	"switchboard/sip"
	"switchboard/store"
)

var _ sip.Router = (*callRouter)(nil)

// callRouter decides calls for the proxy: it reads what was dialled with
// the dial plan, and for a user's extension runs routing.Decide on the same
// snapshot the explain endpoint shows.
type callRouter struct {
	snaps routingSnapshots // snaps.sip is set once the SIP server exists
	now   func() time.Time
}

func (r *callRouter) Route(ctx context.Context, caller sip.Caller, dialled string, hops int) (routing.Plan, error) {
	from, err := r.snaps.caller(ctx, caller.Extension)
	if err != nil {
		return routing.Plan{}, err
	}
	areaCode := ""
	if u, found, err := r.snaps.user(ctx, caller.Extension); err == nil && found {
		areaCode = u.AreaCode
	}
	plan := routing.DialPlan{IsExtension: func(digits string) bool {
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
		return routing.Decide(routing.Request{Callee: callee, Caller: from, At: r.now(), Hops: hops}), nil
	case routing.DialExternal, routing.DialEmergency:
		if d.Kind == routing.DialExternal {
			denied, err := r.deniedPrefix(ctx, d.To)
			if err != nil {
				return routing.Plan{}, err
			}
			if denied != "" {
				return reject(403, "Forbidden", "destination "+d.To+" is in the denied prefix "+denied), nil
			}
		}
		return routing.Plan{
			Action:      routing.ActionRing,
			Stages:      []routing.Stage{{Targets: []routing.Target{{Kind: routing.TargetExternal, To: d.To}}, OnNoAnswer: routing.StageEnd, OnBusy: routing.StageEnd}},
			Explanation: []string{d.Kind.String() + " number " + d.To + " goes out through the trunk"},
		}, nil
	case routing.DialFeature:
		return reject(480, "Temporarily Unavailable", "feature "+d.Feature.String()+" has no voice application yet"), nil
	}
	return reject(404, "Not Found", d.Reason), nil
}

// deniedPrefix returns the deny-list prefix that refuses number, if any.
func (r *callRouter) deniedPrefix(ctx context.Context, number string) (string, error) {
	list, err := r.snaps.db.DeniedPrefixes().Find(ctx)
	if err != nil {
		return "", err
	}
	deny := make(routing.DenyList, len(list))
	for i, p := range list {
		deny[i] = p.Prefix
	}
	p, _ := deny.Denied(number)
	return p, nil
}

func reject(code int, reason, why string) routing.Plan {
	return routing.Plan{Action: routing.ActionReject, Code: code, Reason: reason, Explanation: []string{why}}
}
