package admin

import "context"

// The fake keeps settings and a list of calls in progress as they are
// given; the real rules live in the backend.

func (f *fakeBackend) ListCalls(context.Context) ([]Call, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(); err != nil {
		return nil, err
	}
	return append([]Call(nil), f.liveCalls...), nil
}

func (f *fakeBackend) GetSettings(context.Context) (Settings, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(); err != nil {
		return Settings{}, err
	}
	return f.settings, nil
}

func (f *fakeBackend) UpdateSettings(_ context.Context, p SettingsPatch) (Settings, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(); err != nil {
		return Settings{}, err
	}
	st := f.settings
	if p.ExternalCallsPerMinute != nil {
		if *p.ExternalCallsPerMinute < 0 {
			return Settings{}, Invalid("external_calls_per_minute", "range", "not negative")
		}
		st.ExternalCallsPerMinute = *p.ExternalCallsPerMinute
	}
	if p.ExternalCallsConcurrent != nil {
		st.ExternalCallsConcurrent = *p.ExternalCallsConcurrent
	}
	if p.DirectoryByFirstName != nil {
		st.DirectoryByFirstName = *p.DirectoryByFirstName
	}
	if p.AnnounceRecording != nil {
		st.AnnounceRecording = *p.AnnounceRecording
	}
	if fc := p.FeatureCodes; fc != nil {
		for _, c := range []struct{ in, dst *string }{
			{fc.OwnVoicemail, &st.FeatureCodes.OwnVoicemail},
			{fc.AnyVoicemail, &st.FeatureCodes.AnyVoicemail},
			{fc.Directory, &st.FeatureCodes.Directory},
		} {
			if c.in != nil {
				*c.dst = *c.in
			}
		}
	}
	if p.ProvisioningCredentials != nil {
		pass := map[string]string{}
		st.ProvisioningCredentials = []ProvisioningCredential{}
		for _, c := range *p.ProvisioningCredentials {
			pw, ok := f.provisionPass[c.Username]
			if c.Password != nil {
				pw, ok = *c.Password, true
			}
			if !ok {
				return Settings{}, Invalid("provisioning_credentials.password", "required", "a new user name needs a password")
			}
			pass[c.Username] = pw
			st.ProvisioningCredentials = append(st.ProvisioningCredentials,
				ProvisioningCredential{Username: c.Username, HasPassword: pw != "", Site: c.Site})
		}
		f.provisionPass = pass
	}
	f.settings = st
	return st, nil
}
