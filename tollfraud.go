package switchboard

import (
	"context"
	"errors"
	"fmt"

	"switchboard/admin"
	"switchboard/routing"
	"switchboard/store"
)

// externalDestination is an outside number a rule names, with the API
// field that names it.
type externalDestination struct{ field, to string }

// rulesExternals lists the outside numbers among a rule's forwards and
// simultaneous-ring destinations (nil entries are skipped).
func rulesExternals(fwds map[string]*store.Forward, sr *store.SimRing) []externalDestination {
	var out []externalDestination
	for _, field := range []string{"forward_always", "forward_busy", "forward_unanswered", "forward_offline"} {
		if f := fwds[field]; f != nil && f.Kind == store.ForwardExternal {
			out = append(out, externalDestination{field + ".to", f.To})
		}
	}
	if sr != nil {
		for i, d := range sr.Destinations {
			if d.Kind == store.ForwardExternal {
				out = append(out, externalDestination{fmt.Sprintf("simring.destinations[%d].to", i), d.To})
			}
		}
	}
	return out
}

// checkDeniedForwards refuses a rule that would send calls to a denied
// destination: toll fraud through a forward costs the same as a dialled
// call. Numbers are read the way the proxy reads them (the user's area code
// for 7 digits, 011 for international), so no spelling slips through.
func (b *adminBackend) checkDeniedForwards(ctx context.Context, ext string, dests []externalDestination) error {
	if len(dests) == 0 {
		return nil
	}
	u, err := b.db.Users().FindByExtension(ctx, ext)
	if errors.Is(err, store.ErrNotFound) {
		return admin.NotFound("user")
	}
	if err != nil {
		return err
	}
	deny, err := b.snaps.denyList(ctx)
	if err != nil {
		return err
	}
	for _, d := range dests {
		dialled := routing.DialPlan{}.Dial(d.to, u.AreaCode)
		if dialled.Kind != routing.DialExternal {
			continue // the store's own validation answers for the format
		}
		if p, denied := deny.Denied(dialled.To); denied {
			return admin.Invalid(d.field, "denied_prefix",
				fmt.Sprintf("%s is in the denied destination prefix %s", dialled.To, p))
		}
	}
	return nil
}

func (b *adminBackend) GetTrunk(ctx context.Context) (admin.Trunk, error) {
	t, err := b.db.Trunk().Get(ctx)
	if err != nil {
		return admin.Trunk{}, err
	}
	return b.withRegistration(apiTrunk(t)), nil
}

// withRegistration adds the live state of the registration at the
// provider.
func (b *adminBackend) withRegistration(t admin.Trunk) admin.Trunk {
	st := b.sip.TrunkRegistration()
	t.Registration = admin.TrunkRegistration{State: st.State, Error: st.Error}
	if !st.Expires.IsZero() {
		at := st.Expires
		t.Registration.ExpiresAt = &at
	}
	if !st.NextAttempt.IsZero() {
		at := st.NextAttempt
		t.Registration.NextAttempt = &at
	}
	return t
}

func (b *adminBackend) PutTrunk(ctx context.Context, in admin.TrunkInput) (admin.Trunk, error) {
	password := in.Password
	if password == "" {
		// A form saved without re-typing the password keeps it.
		cur, err := b.db.Trunk().Get(ctx)
		if err != nil {
			return admin.Trunk{}, err
		}
		password = cur.Password
	}
	t, err := b.db.Trunk().Put(ctx, store.Trunk{
		Host: in.Host, Port: in.Port, Transport: in.Transport, Username: in.Username, Password: password,
		Register: in.Register, FromDomain: in.FromDomain, InboundSources: in.InboundSources,
	})
	if err != nil {
		return admin.Trunk{}, apiError(err, "trunk")
	}
	return b.withRegistration(apiTrunk(t)), nil
}

func apiTrunk(t store.Trunk) admin.Trunk {
	return admin.Trunk{
		Host: t.Host, Port: t.Port, Transport: t.Transport, Username: t.Username, HasPassword: t.Password != "",
		Register: t.Register, FromDomain: t.FromDomain, InboundSources: t.InboundSources,
	}
}

func (b *adminBackend) ListDeniedPrefixes(ctx context.Context) ([]admin.DeniedPrefix, error) {
	list, err := b.db.DeniedPrefixes().Find(ctx)
	if err != nil {
		return nil, err
	}
	return apiDenied(list), nil
}

func (b *adminBackend) PutDeniedPrefixes(ctx context.Context, in []admin.DeniedPrefix) ([]admin.DeniedPrefix, error) {
	list := make([]store.DeniedPrefix, len(in))
	for i, p := range in {
		list[i] = store.DeniedPrefix{Prefix: p.Prefix, Note: p.Note}
	}
	out, err := b.db.DeniedPrefixes().Replace(ctx, list)
	if err != nil {
		return nil, apiError(err, "denied prefix")
	}
	return apiDenied(out), nil
}

func apiDenied(list []store.DeniedPrefix) []admin.DeniedPrefix {
	out := make([]admin.DeniedPrefix, len(list))
	for i, p := range list {
		out[i] = admin.DeniedPrefix{Prefix: p.Prefix, Note: p.Note}
	}
	return out
}
