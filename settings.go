package switchboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"switchboard/admin"
	"switchboard/notify"
	"switchboard/provision"
	"switchboard/routing"
	"switchboard/store"
)

// The settings keys of the PBX-wide settings the admin API edits.
const (
	settingExternalPerMinute  = "external_calls_per_minute"
	settingExternalConcurrent = "external_calls_concurrent"
	settingOwnVoicemail       = "feature_code.own_voicemail"
	settingAnyVoicemail       = "feature_code.any_voicemail"
	settingDirectory          = "feature_code.directory"
	settingSMTPHost           = "smtp.host"
	settingSMTPPort           = "smtp.port"
	settingSMTPStartTLS       = "smtp.starttls"
	settingSMTPUsername       = "smtp.username"
	settingSMTPPassword       = "smtp.password"
	settingSMTPFrom           = "smtp.from"
	settingPublicURL          = "public_url"
	settingDirectoryFirst     = "directory_by_first_name"
	settingAnnounceRecording  = "announce_recording"
	// settingProvisioningCredentials holds the per-site provisioning
	// credentials as a JSON list of {username, password, site}.
	settingProvisioningCredentials = "provisioning.credentials"
)

// DefaultExternalCallsPerMinute is how many outside calls one user may
// start in a minute unless the setting external_calls_per_minute says
// otherwise (0: unlimited). A phone whose password leaked dials premium
// numbers as fast as it can; a person does not.
const DefaultExternalCallsPerMinute = 10

// DefaultExternalCallsConcurrent is how many outside calls one user may
// have up at once unless the setting external_calls_concurrent says
// otherwise (0: unlimited): as many as a user's default call paths.
const DefaultExternalCallsConcurrent = store.DefaultCallPaths

// maxCallLimit bounds the per-user call limits an admin may set.
const maxCallLimit = 10000

// engineSettings are the PBX-wide settings as calls use them.
type engineSettings struct {
	admin.Settings
	// features maps the feature codes to what they reach.
	features map[string]routing.Feature
	// smtpPassword is the relay's password, which the API never shows.
	smtpPassword string
	// provisionCreds are the provisioning credentials with their
	// passwords, in the order the API shows them; siteCreds finds them by
	// user name.
	provisionCreds []provision.SiteCredential
	siteCreds      map[string]provision.SiteCredential
}

// smtp is the relay configuration voicemail emails are sent with.
func (st engineSettings) smtp() notify.SMTP {
	return notify.SMTP{Host: st.SMTP.Host, Port: st.SMTP.Port, StartTLS: st.SMTP.StartTLS,
		Username: st.SMTP.Username, Password: st.smtpPassword, From: st.SMTP.From}
}

// defaultSettings are the settings of a fresh install.
func defaultSettings() admin.Settings {
	st := admin.Settings{
		ExternalCallsPerMinute:  DefaultExternalCallsPerMinute,
		ExternalCallsConcurrent: DefaultExternalCallsConcurrent,
		ProvisioningCredentials: []admin.ProvisioningCredential{},
	}
	for code, f := range routing.DefaultFeatureCodes {
		*featureField(&st.FeatureCodes, f) = code
	}
	return st
}

// featureField is where fc keeps the code of f.
func featureField(fc *admin.FeatureCodes, f routing.Feature) *string {
	switch f {
	case routing.FeatureOwnVoicemail:
		return &fc.OwnVoicemail
	case routing.FeatureAnyVoicemail:
		return &fc.AnyVoicemail
	case routing.FeatureDirectory:
		return &fc.Directory
	}
	panic("unknown feature " + f.String())
}

// loadSettings reads the settings, defaults filled in. A stored value the
// API could not have saved is an error rather than a silent default.
func loadSettings(ctx context.Context, db *store.DB) (engineSettings, error) {
	all, err := db.Settings().All(ctx)
	if err != nil {
		return engineSettings{}, err
	}
	st := defaultSettings()
	for key, dst := range map[string]*int{
		settingExternalPerMinute:  &st.ExternalCallsPerMinute,
		settingExternalConcurrent: &st.ExternalCallsConcurrent,
	} {
		v, ok := all[key]
		if !ok {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > maxCallLimit {
			return engineSettings{}, fmt.Errorf("setting %s %q: want a count from 0 (unlimited) to %d", key, v, maxCallLimit)
		}
		*dst = n
	}
	for key, dst := range map[string]*string{
		settingOwnVoicemail: &st.FeatureCodes.OwnVoicemail,
		settingAnyVoicemail: &st.FeatureCodes.AnyVoicemail,
		settingDirectory:    &st.FeatureCodes.Directory,
	} {
		if v, ok := all[key]; ok {
			*dst = v
		}
	}
	if err := checkFeatureCodes(st.FeatureCodes); err != nil {
		return engineSettings{}, fmt.Errorf("stored feature codes: %w", err)
	}
	st.SMTP.Host, st.SMTP.Username, st.SMTP.From = all[settingSMTPHost], all[settingSMTPUsername], all[settingSMTPFrom]
	st.SMTP.StartTLS = all[settingSMTPStartTLS] == "true"
	st.SMTP.HasPassword = all[settingSMTPPassword] != ""
	st.PublicURL = all[settingPublicURL]
	st.DirectoryByFirstName = all[settingDirectoryFirst] == "true"
	st.AnnounceRecording = all[settingAnnounceRecording] == "true"
	if v := all[settingSMTPPort]; v != "" {
		if st.SMTP.Port, err = strconv.Atoi(v); err != nil {
			return engineSettings{}, fmt.Errorf("setting %s %q: %w", settingSMTPPort, v, err)
		}
	}
	var creds []provision.SiteCredential
	if v := all[settingProvisioningCredentials]; v != "" {
		if creds, err = decodeProvisionCredentials(v); err != nil {
			return engineSettings{}, fmt.Errorf("setting %s: %w", settingProvisioningCredentials, err)
		}
	}
	est := engineSettings{Settings: st, features: featureMap(st.FeatureCodes), smtpPassword: all[settingSMTPPassword]}
	est.setProvisionCredentials(creds)
	return est, nil
}

// setProvisionCredentials makes creds the provisioning credentials, as the
// API shows them and as the provisioning server looks them up.
func (st *engineSettings) setProvisionCredentials(creds []provision.SiteCredential) {
	st.provisionCreds = creds
	st.siteCreds = make(map[string]provision.SiteCredential, len(creds))
	st.ProvisioningCredentials = make([]admin.ProvisioningCredential, len(creds))
	for i, c := range creds {
		st.siteCreds[c.Username] = c
		st.ProvisioningCredentials[i] = admin.ProvisioningCredential{Username: c.Username, HasPassword: c.Password != "", Site: c.Site}
	}
}

// storedCredential is how a provisioning credential is kept in settings.
type storedCredential struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Site     string `json:"site"`
}

func decodeProvisionCredentials(v string) ([]provision.SiteCredential, error) {
	var stored []storedCredential
	if err := json.Unmarshal([]byte(v), &stored); err != nil {
		return nil, err
	}
	out := make([]provision.SiteCredential, len(stored))
	for i, c := range stored {
		out[i] = provision.SiteCredential{Username: c.Username, Password: c.Password, Site: c.Site}
	}
	return out, nil
}

func encodeProvisionCredentials(creds []provision.SiteCredential) (string, error) {
	stored := make([]storedCredential, len(creds))
	for i, c := range creds {
		stored[i] = storedCredential{Username: c.Username, Password: c.Password, Site: c.Site}
	}
	b, err := json.Marshal(stored)
	return string(b), err
}

// Bounds of the provisioning credentials.
const (
	maxProvisionCredentials   = 100
	maxProvisionUsername      = 64
	minProvisionPassword      = 12
	maxProvisionCredentialLen = 128 // password and site
)

// provisionCredentials checks the list a PATCH sets and returns it with
// the passwords to store: a credential sent without a password keeps the
// one stored for its user name. A user name that is a phone's name is
// refused: that phone's own credentials would shadow it.
func (b *adminBackend) provisionCredentials(ctx context.Context, in []admin.ProvisioningCredentialInput, cur map[string]provision.SiteCredential) ([]provision.SiteCredential, error) {
	if len(in) > maxProvisionCredentials {
		return nil, admin.Invalid("provisioning_credentials", "max", fmt.Sprintf("at most %d credentials", maxProvisionCredentials))
	}
	out := make([]provision.SiteCredential, len(in))
	seen := make(map[string]bool, len(in))
	for i, c := range in {
		field := fmt.Sprintf("provisioning_credentials[%d]", i)
		switch {
		case c.Username == "":
			return nil, admin.Invalid(field+".username", "required", "a user name is required")
		case utf8.RuneCountInString(c.Username) > maxProvisionUsername:
			return nil, admin.Invalid(field+".username", "length", fmt.Sprintf("at most %d characters", maxProvisionUsername))
		case !utf8.ValidString(c.Username) || strings.ContainsFunc(c.Username, func(r rune) bool { return r == ':' || unicode.IsControl(r) }):
			// A colon would make the digest's user:realm:password ambiguous.
			return nil, admin.Invalid(field+".username", "characters", "no control characters and no ':'")
		case seen[c.Username]:
			return nil, admin.Invalid(field+".username", "unique", "user name "+c.Username+" is listed twice")
		}
		seen[c.Username] = true
		if _, err := b.db.Phones().FindByName(ctx, c.Username); err == nil {
			return nil, admin.Invalid(field+".username", "phone", c.Username+" is a phone's name")
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		if utf8.RuneCountInString(c.Site) > maxProvisionCredentialLen || strings.ContainsFunc(c.Site, unicode.IsControl) {
			return nil, admin.Invalid(field+".site", "characters", fmt.Sprintf("at most %d characters, no control characters", maxProvisionCredentialLen))
		}
		sc := provision.SiteCredential{Username: c.Username, Site: c.Site}
		switch {
		case c.Password != nil:
			n := utf8.RuneCountInString(*c.Password)
			if n < minProvisionPassword || n > maxProvisionCredentialLen {
				return nil, admin.Invalid(field+".password", "length", fmt.Sprintf("%d to %d characters", minProvisionPassword, maxProvisionCredentialLen))
			}
			sc.Password = *c.Password
		case cur[c.Username].Password != "":
			sc.Password = cur[c.Username].Password
		default:
			return nil, admin.Invalid(field+".password", "required", "a new user name needs a password")
		}
		out[i] = sc
	}
	return out, nil
}

func featureMap(fc admin.FeatureCodes) map[string]routing.Feature {
	return map[string]routing.Feature{
		fc.OwnVoicemail: routing.FeatureOwnVoicemail,
		fc.AnyVoicemail: routing.FeatureAnyVoicemail,
		fc.Directory:    routing.FeatureDirectory,
	}
}

// checkFeatureCodes checks that each code is 1 to 8 of the keys a phone
// has (digits, * and #), that no two are the same, and that none is an
// emergency number, which must always reach the emergency services.
func checkFeatureCodes(fc admin.FeatureCodes) *admin.Error {
	seen := map[string]string{}
	for _, c := range []struct{ field, code string }{
		{"feature_codes.own_voicemail", fc.OwnVoicemail},
		{"feature_codes.any_voicemail", fc.AnyVoicemail},
		{"feature_codes.directory", fc.Directory},
	} {
		if c.code == "" || len(c.code) > 8 {
			return admin.Invalid(c.field, "length", "a feature code is 1 to 8 keys")
		}
		for _, r := range c.code {
			if (r < '0' || r > '9') && r != '*' && r != '#' {
				return admin.Invalid(c.field, "keys", "a feature code is digits, * and #")
			}
		}
		if (routing.DialPlan{}).Dial(c.code, "").Kind == routing.DialEmergency {
			return admin.Invalid(c.field, "emergency", c.code+" is an emergency number")
		}
		if other, dup := seen[c.code]; dup {
			return admin.Invalid(c.field, "unique", "the same code as "+other)
		}
		seen[c.code] = c.field
	}
	return nil
}

// settings returns the settings, read afresh after any change.
func (s routingSnapshots) settings(ctx context.Context) (engineSettings, error) {
	return cachedValue(ctx, s.cache, "settings", func(ctx context.Context) (engineSettings, error) {
		return loadSettings(ctx, s.db)
	})
}

func (b *adminBackend) GetSettings(ctx context.Context) (admin.Settings, error) {
	st, err := loadSettings(ctx, b.db)
	return st.Settings, err
}

func (b *adminBackend) UpdateSettings(ctx context.Context, p admin.SettingsPatch) (admin.Settings, error) {
	cur, err := loadSettings(ctx, b.db)
	if err != nil {
		return admin.Settings{}, err
	}
	st := cur.Settings
	for _, c := range []struct {
		field string
		in    *int
		dst   *int
	}{
		{settingExternalPerMinute, p.ExternalCallsPerMinute, &st.ExternalCallsPerMinute},
		{settingExternalConcurrent, p.ExternalCallsConcurrent, &st.ExternalCallsConcurrent},
	} {
		if c.in == nil {
			continue
		}
		if *c.in < 0 || *c.in > maxCallLimit {
			return admin.Settings{}, admin.Invalid(c.field, "range", fmt.Sprintf("from 0 (unlimited) to %d", maxCallLimit))
		}
		*c.dst = *c.in
	}
	if fc := p.FeatureCodes; fc != nil {
		for _, c := range []struct {
			in  *string
			dst *string
		}{{fc.OwnVoicemail, &st.FeatureCodes.OwnVoicemail}, {fc.AnyVoicemail, &st.FeatureCodes.AnyVoicemail}, {fc.Directory, &st.FeatureCodes.Directory}} {
			if c.in != nil {
				*c.dst = *c.in
			}
		}
		if err := checkFeatureCodes(st.FeatureCodes); err != nil {
			return admin.Settings{}, err
		}
		// A code that is a user's extension would hide that user.
		for code, f := range featureMap(st.FeatureCodes) {
			if _, err := b.db.Users().FindByExtension(ctx, code); err == nil {
				return admin.Settings{}, admin.Invalid("feature_codes."+featureKey(f), "extension", "extension "+code+" is a user's")
			} else if !errors.Is(err, store.ErrNotFound) {
				return admin.Settings{}, err
			}
		}
	}
	password := cur.smtpPassword
	if p.SMTP != nil {
		sp := p.SMTP
		set(&st.SMTP.Host, sp.Host)
		set(&st.SMTP.Port, sp.Port)
		set(&st.SMTP.StartTLS, sp.StartTLS)
		set(&st.SMTP.Username, sp.Username)
		set(&st.SMTP.From, sp.From)
		set(&password, sp.Password)
		st.SMTP.HasPassword = password != ""
		if err := checkSMTP(st.SMTP); err != nil {
			return admin.Settings{}, err
		}
	}
	if p.PublicURL != nil {
		st.PublicURL = strings.TrimRight(*p.PublicURL, "/")
		if err := checkPublicURL(st.PublicURL); err != nil {
			return admin.Settings{}, err
		}
	}
	set(&st.DirectoryByFirstName, p.DirectoryByFirstName)
	set(&st.AnnounceRecording, p.AnnounceRecording)
	creds := cur.provisionCreds
	if p.ProvisioningCredentials != nil {
		if creds, err = b.provisionCredentials(ctx, *p.ProvisioningCredentials, cur.siteCreds); err != nil {
			return admin.Settings{}, err
		}
	}
	credsJSON, err := encodeProvisionCredentials(creds)
	if err != nil {
		return admin.Settings{}, err
	}
	port := ""
	if st.SMTP.Port != 0 {
		port = strconv.Itoa(st.SMTP.Port)
	}
	err = b.db.Settings().SetAll(ctx, map[string]string{
		settingExternalPerMinute:       strconv.Itoa(st.ExternalCallsPerMinute),
		settingExternalConcurrent:      strconv.Itoa(st.ExternalCallsConcurrent),
		settingOwnVoicemail:            st.FeatureCodes.OwnVoicemail,
		settingAnyVoicemail:            st.FeatureCodes.AnyVoicemail,
		settingDirectory:               st.FeatureCodes.Directory,
		settingSMTPHost:                st.SMTP.Host,
		settingSMTPPort:                port,
		settingSMTPStartTLS:            strconv.FormatBool(st.SMTP.StartTLS),
		settingSMTPUsername:            st.SMTP.Username,
		settingSMTPPassword:            password,
		settingSMTPFrom:                st.SMTP.From,
		settingPublicURL:               st.PublicURL,
		settingProvisioningCredentials: credsJSON,
		settingDirectoryFirst:          strconv.FormatBool(st.DirectoryByFirstName),
		settingAnnounceRecording:       strconv.FormatBool(st.AnnounceRecording),
	})
	if err != nil {
		return admin.Settings{}, err
	}
	out := engineSettings{Settings: st}
	out.setProvisionCredentials(creds)
	return out.Settings, nil
}

// checkSMTP checks the relay settings: a host name or address without a
// port, a port, a From address, and credentials only with STARTTLS (or a
// loopback relay), so that a password never crosses the network in clear.
func checkSMTP(s admin.SMTPSettings) error {
	if s.Host == "" {
		return nil
	}
	if strings.ContainsAny(s.Host, ":/ @") || len(s.Host) > 253 {
		return admin.Invalid("smtp.host", "host", "a host name or IPv4 address, without a port")
	}
	if s.Port < 0 || s.Port > 65535 {
		return admin.Invalid("smtp.port", "range", "a port from 1 to 65535 (0: 25)")
	}
	if _, err := mail.ParseAddress(s.From); err != nil {
		return admin.Invalid("smtp.from", "email", "an email address, e.g. \"PBX <pbx@example.com>\"")
	}
	loopback := s.Host == "localhost"
	if ip, err := netip.ParseAddr(s.Host); err == nil {
		loopback = ip.IsLoopback()
	}
	if s.Username != "" && !s.StartTLS && !loopback {
		return admin.Invalid("smtp.starttls", "required", "credentials are sent only over STARTTLS")
	}
	return nil
}

// checkPublicURL checks the base of links in emails: an http or https URL
// without query or fragment.
func checkPublicURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return admin.Invalid("public_url", "url", "an http or https URL, e.g. https://pbx.example.com")
	}
	return nil
}

// featureKey is the API's name of f in feature_codes.
func featureKey(f routing.Feature) string {
	switch f {
	case routing.FeatureOwnVoicemail:
		return "own_voicemail"
	case routing.FeatureAnyVoicemail:
		return "any_voicemail"
	}
	return "directory"
}

func (b *adminBackend) ListCalls(context.Context) ([]admin.Call, error) {
	calls := b.sip.Calls()
	out := make([]admin.Call, len(calls))
	for i, c := range calls {
		out[i] = admin.Call{
			CallID: c.CallID, From: c.From, FromName: c.FromName, CallerExtension: c.CallerExtension,
			FromTrunk: c.FromTrunk, Dialled: c.Dialled, State: string(c.State), Extensions: c.Extensions,
			AnsweredBy: c.AnsweredBy, External: c.External, Started: c.Started,
		}
		if !c.Answered.IsZero() {
			at := c.Answered
			out[i].Answered = &at
		}
	}
	return out, nil
}

// set copies *v into *dst when v is not nil.
func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}
