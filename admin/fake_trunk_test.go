package admin

import (
	"context"
	"strings"
)

// The fake keeps one trunk and one deny list, with the rules the real
// backend enforces that the handlers must pass through.

func (f *fakeBackend) GetTrunk(context.Context) (Trunk, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(); err != nil {
		return Trunk{}, err
	}
	t := f.trunk
	t.HasPassword = f.trunkPassword != ""
	t.Registration.State = "off"
	return t, nil
}

func (f *fakeBackend) PutTrunk(_ context.Context, in TrunkInput) (Trunk, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(); err != nil {
		return Trunk{}, err
	}
	if strings.Contains(in.Host, ":") {
		return Trunk{}, Invalid("host", "host", "no port in the host")
	}
	if in.Password != "" {
		f.trunkPassword = in.Password
	}
	f.trunk = Trunk{Host: in.Host, Port: in.Port, Transport: in.Transport, Username: in.Username,
		Register: in.Register, FromDomain: in.FromDomain, InboundSources: in.InboundSources}
	t := f.trunk
	t.HasPassword = f.trunkPassword != ""
	t.Registration.State = "off"
	return t, nil
}

func (f *fakeBackend) ListDeniedPrefixes(context.Context) ([]DeniedPrefix, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(); err != nil {
		return nil, err
	}
	return f.denied, nil
}

func (f *fakeBackend) PutDeniedPrefixes(_ context.Context, list []DeniedPrefix) ([]DeniedPrefix, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(); err != nil {
		return nil, err
	}
	for _, p := range list {
		if !strings.HasPrefix(p.Prefix, "+") {
			return nil, Invalid("prefixes[0]", "e164", "a + and digits")
		}
	}
	f.denied = list
	return list, nil
}
