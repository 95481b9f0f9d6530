package switchboard

import (
	"context"
	"errors"

	"switchboard/admin"
	"switchboard/provision"
	"switchboard/sip"
	"switchboard/store"
)

var _ admin.Backend = (*adminBackend)(nil)

// adminBackend adapts the store to the admin API, turns store errors into
// API errors, and tells the SIP side about changes that affect it.
type adminBackend struct {
	db     *store.DB
	phones *phoneDirectory
	sip    *sip.Server
	snaps  routingSnapshots // the proxy's own, so explain decides as calls do
	audio  *audioStore
	// site is what provisioning files say of the PBX.
	site func() provision.Site
	// resync tells registered desk phones whose file a change altered.
	resync *provisionResyncer
}

// apiError maps store errors to their HTTP meaning; what is left is a 500.
func apiError(err error, what string) error {
	var ve *store.ValidationError
	var ce *store.ConflictError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ve):
		return admin.Invalid(ve.Field, ve.Rule, ve.Error())
	case errors.As(err, &ce):
		return admin.Conflict(ce.Field)
	case errors.Is(err, store.ErrNotFound):
		return admin.NotFound(what)
	}
	return err
}

func (b *adminBackend) CreateUser(ctx context.Context, in admin.UserInput) (admin.User, error) {
	u, err := b.db.Users().Create(ctx, store.NewUser{
		User: store.User{
			Extension: in.Extension, LoginName: in.LoginName, FirstName: in.FirstName, LastName: in.LastName,
			Department: in.Department, Site: in.Site, Timezone: in.Timezone, Emails: in.Emails,
			Scope: store.Scope(in.Scope), RecordCalls: in.RecordCalls,
			AnnounceInDirectory: in.AnnounceInDirectory, ListInDirectory: in.ListInDirectory,
			AreaCode: in.AreaCode, CallerIDName: in.CallerIDName, CallerIDNumber: in.CallerIDNumber,
			EmergencyCallerID: in.EmergencyCallerID, EmergencyAddress: in.EmergencyAddress,
			PhoneNumber: in.PhoneNumber, MobileNumber: in.MobileNumber, PagerNumber: in.PagerNumber,
			VoicemailEnabled: in.VoicemailEnabled, CallPaths: callPathsOnCreate(in.CallPaths),
		},
		Password:     in.Password,
		VoicemailPIN: in.VoicemailPIN,
	})
	if err != nil {
		return admin.User{}, apiError(err, "user")
	}
	if in.CallPaths != nil && *in.CallPaths == 0 {
		// The store reads 0 on creation as "the default"; an explicit 0
		// asks for unlimited call paths, which only an update can set.
		if u, err = b.db.Users().Update(ctx, u.Extension, store.UserUpdate{CallPaths: in.CallPaths}); err != nil {
			return admin.User{}, apiError(err, "user")
		}
	}
	return apiUser(u), nil
}

func (b *adminBackend) ListUsers(ctx context.Context, f admin.UserListFilter) ([]admin.User, int, error) {
	us, total, err := b.db.Users().Find(ctx, store.UserFilter{Site: f.Site, Department: f.Department, Limit: f.Limit, Offset: f.Offset})
	if err != nil {
		return nil, 0, apiError(err, "user")
	}
	out := make([]admin.User, len(us))
	for i, u := range us {
		out[i] = apiUser(u)
	}
	return out, total, nil
}

func (b *adminBackend) GetUser(ctx context.Context, ext string) (admin.User, error) {
	u, err := b.db.Users().FindByExtension(ctx, ext)
	if err != nil {
		return admin.User{}, apiError(err, "user")
	}
	return apiUser(u), nil
}

func (b *adminBackend) UpdateUser(ctx context.Context, ext string, p admin.UserPatch) (admin.User, error) {
	up := store.UserUpdate{
		Extension: p.Extension, LoginName: p.LoginName, FirstName: p.FirstName, LastName: p.LastName,
		Department: p.Department, Site: p.Site, Timezone: p.Timezone, Emails: p.Emails,
		RecordCalls: p.RecordCalls, AnnounceInDirectory: p.AnnounceInDirectory, ListInDirectory: p.ListInDirectory,
		AreaCode: p.AreaCode, CallerIDName: p.CallerIDName, CallerIDNumber: p.CallerIDNumber,
		EmergencyCallerID: p.EmergencyCallerID, EmergencyAddress: p.EmergencyAddress,
		PhoneNumber: p.PhoneNumber, MobileNumber: p.MobileNumber, PagerNumber: p.PagerNumber,
		VoicemailEnabled: p.VoicemailEnabled, CallPaths: p.CallPaths, Password: p.Password, VoicemailPIN: p.VoicemailPIN,
	}
	if p.Scope != nil {
		s := store.Scope(*p.Scope)
		up.Scope = &s
	}
	before, err := b.db.Users().FindByExtension(ctx, ext)
	if err != nil {
		return admin.User{}, apiError(err, "user")
	}
	u, err := b.db.Users().Update(ctx, ext, up)
	if err != nil {
		return admin.User{}, apiError(err, "user")
	}
	if u.Extension != ext {
		// The phones' cached extension is stale, and their bindings
		// belong under the new number.
		b.phones.invalidate()
		b.sip.MoveExtension(ext, u.Extension)
	}
	if why := userFileChanges(before, u); len(why) > 0 {
		b.resyncUserPhones(ctx, u.Extension, why)
	}
	return apiUser(u), nil
}

// resyncUserPhones schedules the resync of the desk phones of the user at
// ext, whose files changed for the reasons why. The change is made
// already: a failure here only costs the phones their early fetch.
func (b *adminBackend) resyncUserPhones(ctx context.Context, ext string, why []string) {
	if b.resync == nil {
		return
	}
	phones, err := b.db.Phones().Find(ctx, store.PhoneFilter{Extension: ext, Limit: 1000})
	if err != nil {
		b.resync.log.Warn("provisioning resync: list the user's phones", "extension", ext, "error", err)
		return
	}
	for _, p := range phones {
		if p.Model != "" {
			b.resync.schedule(p.Name, why...)
		}
	}
}

func (b *adminBackend) DeleteUser(ctx context.Context, ext string) error {
	phones, err := b.db.Phones().Find(ctx, store.PhoneFilter{Extension: ext})
	if err != nil {
		return apiError(err, "user")
	}
	if err := b.db.Users().Delete(ctx, ext); err != nil {
		return apiError(err, "user")
	}
	for _, p := range phones {
		b.forgetPhone(p.Name)
	}
	return nil
}

func (b *adminBackend) forgetPhone(name string) {
	b.phones.invalidate(name)
	b.sip.ForgetPhone(name)
}

func (b *adminBackend) CreatePhone(ctx context.Context, ext string, in admin.PhoneInput) (admin.Phone, error) {
	if err := checkPhoneModel(in.Model, in.Overrides); err != nil {
		return admin.Phone{}, err
	}
	// The phone's own credentials would shadow a provisioning credential
	// of the same user name for the phone's file.
	st, err := b.snaps.settings(ctx)
	if err != nil {
		return admin.Phone{}, err
	}
	if _, taken := st.siteCreds[in.Name]; taken && in.Name != "" {
		return admin.Phone{}, admin.Invalid("name", "provisioning_credential", in.Name+" is the user name of a provisioning credential")
	}
	p, err := b.db.Phones().Create(ctx, ext, store.Phone{
		Name: in.Name, SIPPassword: in.SIPPassword, Model: in.Model, MAC: in.MAC,
		RecordCalls: in.RecordCalls, PreferredServer: in.PreferredServer, Overrides: in.Overrides,
	})
	if err != nil {
		return admin.Phone{}, apiError(err, "user")
	}
	// A failed look-up of this name may be cached.
	b.phones.invalidate(p.Name)
	out := apiPhone(p)
	if in.SIPPassword == "" {
		out.GeneratedSIPPassword = p.SIPPassword
	}
	return out, nil
}

func (b *adminBackend) ListPhones(ctx context.Context, ext string) ([]admin.Phone, error) {
	if _, err := b.db.Users().FindByExtension(ctx, ext); err != nil {
		return nil, apiError(err, "user")
	}
	ps, err := b.db.Phones().Find(ctx, store.PhoneFilter{Extension: ext})
	if err != nil {
		return nil, apiError(err, "phone")
	}
	out := make([]admin.Phone, len(ps))
	for i, p := range ps {
		out[i] = apiPhone(p)
	}
	return out, nil
}

func (b *adminBackend) GetPhone(ctx context.Context, ext, name string) (admin.Phone, error) {
	p, err := b.db.Phones().FindByName(ctx, name)
	if err != nil || p.Extension != ext {
		return admin.Phone{}, admin.NotFound("phone")
	}
	return apiPhone(p), nil
}

func (b *adminBackend) UpdatePhone(ctx context.Context, ext, name string, p admin.PhonePatch) (admin.Phone, error) {
	cur, err := b.db.Phones().FindByName(ctx, name)
	if err != nil || cur.Extension != ext {
		return admin.Phone{}, admin.NotFound("phone")
	}
	if p.Model != nil || p.Overrides != nil {
		// The model and overrides as they will be, checked together.
		model, overrides := cur.Model, cur.Overrides
		if p.Model != nil {
			model = *p.Model
		}
		if p.Overrides != nil {
			overrides = *p.Overrides
		}
		if err := checkPhoneModel(model, overrides); err != nil {
			return admin.Phone{}, err
		}
	}
	ph, err := b.db.Phones().Update(ctx, ext, name, store.PhoneUpdate{
		SIPPassword: p.SIPPassword, Model: p.Model, MAC: p.MAC, RecordCalls: p.RecordCalls,
		PreferredServer: p.PreferredServer, Overrides: p.Overrides,
	})
	if err != nil {
		return admin.Phone{}, apiError(err, "phone")
	}
	b.phones.invalidate(name)
	if why := phoneFileChanges(cur, ph); len(why) > 0 && ph.Model != "" {
		b.resync.schedule(ph.Name, why...)
	}
	return apiPhone(ph), nil
}

func (b *adminBackend) DeletePhone(ctx context.Context, ext, name string) error {
	if err := b.db.Phones().Delete(ctx, ext, name); err != nil {
		return apiError(err, "phone")
	}
	b.forgetPhone(name)
	return nil
}

func (b *adminBackend) ListRegistrations(ctx context.Context, ext string) ([]admin.Registration, error) {
	// Pending changes first, so that the answer includes a REGISTER that
	// was answered a moment ago.
	if err := b.sip.Flush(ctx); err != nil {
		return nil, err
	}
	rs, err := b.db.Registrations().Find(ctx, store.RegistrationFilter{Extension: ext})
	if err != nil {
		return nil, err
	}
	out := make([]admin.Registration, len(rs))
	for i, r := range rs {
		out[i] = admin.Registration{
			Phone: r.Phone, Extension: r.AOR, Contact: r.Contact, Source: r.Source,
			Transport: r.Transport, UserAgent: r.UserAgent, ExpiresAt: r.ExpiresAt,
		}
	}
	return out, nil
}

func apiUser(u store.User) admin.User {
	return admin.User{
		FirstName: u.FirstName, LastName: u.LastName, Extension: u.Extension, LoginName: u.LoginName,
		Department: u.Department, Site: u.Site, Timezone: u.Timezone, Emails: u.Emails, Scope: string(u.Scope),
		RecordCalls: u.RecordCalls, AnnounceInDirectory: u.AnnounceInDirectory, ListInDirectory: u.ListInDirectory,
		AreaCode: u.AreaCode, CallerIDName: u.CallerIDName, CallerIDNumber: u.CallerIDNumber,
		EmergencyCallerID: u.EmergencyCallerID, EmergencyAddress: u.EmergencyAddress,
		PhoneNumber: u.PhoneNumber, MobileNumber: u.MobileNumber, PagerNumber: u.PagerNumber,
		VoicemailEnabled: u.VoicemailEnabled, CallPaths: u.CallPaths,
		HasVoicemailPIN: u.HasVoicemailPIN, HasPassword: u.HasPassword,
		CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt,
	}
}

// callPathsOnCreate is the store's CallPaths for a new user: 0, the store's
// default, when the request has none (or asks for 0, set afterwards).
func callPathsOnCreate(n *int) int {
	if n == nil {
		return 0
	}
	return *n
}

func apiPhone(p store.Phone) admin.Phone {
	return admin.Phone{
		Name: p.Name, Extension: p.Extension, Model: p.Model, MAC: p.MAC, RecordCalls: p.RecordCalls,
		PreferredServer: p.PreferredServer, Overrides: p.Overrides, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
	}
}
