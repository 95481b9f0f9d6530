package switchboard

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"time"

	"switchboard/admin"
	"switchboard/provision"
	"switchboard/store"
)

var (
	_ provision.Directory       = provisionDirectory{}
	_ admin.ProvisioningBackend = (*adminBackend)(nil)
)

// checkPhoneModel refuses a model no template serves and overrides the
// model cannot carry, as the phones API answers them (400 naming the
// field). An empty model is a softphone: nothing is provisioned.
func checkPhoneModel(model string, overrides map[string]string) error {
	if model == "" {
		if len(overrides) > 0 {
			return admin.Invalid("overrides", "model", "overrides need a model")
		}
		return nil
	}
	if _, ok := provision.Lookup(model); !ok {
		ids := make([]string, 0)
		for _, m := range provision.Models() {
			ids = append(ids, m.ID)
		}
		return admin.Invalid("model", "enum", "model is one of "+strings.Join(ids, ", ")+" (or empty for a softphone)")
	}
	var se *provision.SettingError
	if err := provision.ValidateOverrides(model, overrides); errors.As(err, &se) {
		return admin.Invalid("overrides", "setting", se.Error())
	} else if err != nil {
		return err
	}
	return nil
}

// provisionDevice is what the file of phone p of user u says.
func provisionDevice(p store.Phone, u store.User) provision.Device {
	return provision.Device{PhoneName: p.Name, SIPPassword: p.SIPPassword, Model: p.Model, MAC: p.MAC, Overrides: p.Overrides,
		Extension: u.Extension, CallerIDName: u.CallerIDName, FirstName: u.FirstName, LastName: u.LastName,
		Timezone: u.Timezone, Site: u.Site}
}

// provisionDirectory finds phones by MAC for the provisioning server.
type provisionDirectory struct {
	db *store.DB
}

func (d provisionDirectory) DeviceByMAC(ctx context.Context, mac string) (provision.Device, error) {
	p, err := d.db.Phones().FindByMAC(ctx, mac)
	if errors.Is(err, store.ErrNotFound) {
		return provision.Device{}, provision.ErrUnknownDevice
	}
	if err != nil {
		return provision.Device{}, err
	}
	u, err := d.db.Users().FindByExtension(ctx, p.Extension)
	if errors.Is(err, store.ErrNotFound) {
		return provision.Device{}, provision.ErrUnknownDevice
	}
	if err != nil {
		return provision.Device{}, err
	}
	return provisionDevice(p, u), nil
}

// provisionSite is what every phone's file says of the PBX: the advertised
// SIP address, the domain, the voicemail code and where files are fetched.
func (e *Engine) provisionSite() provision.Site {
	host, port := e.cfg.Domain, 5060
	if a, ok := e.SIPAddr().(*net.UDPAddr); ok {
		port = a.Port
	}
	if e.cfg.Advertise != "" {
		host = e.cfg.Advertise
		if h, p, err := net.SplitHostPort(e.cfg.Advertise); err == nil {
			host = h
			if n, err := strconv.Atoi(p); err == nil {
				port = n
			}
		}
	}
	site := provision.Site{SIPHost: host, SIPPort: port, Domain: e.cfg.Domain, VoicemailCode: "*97"}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if st, err := e.router.snaps.settings(ctx); err == nil {
		site.VoicemailCode = st.FeatureCodes.OwnVoicemail
		if st.PublicURL != "" {
			site.ProvisionURL = st.PublicURL + "/provision/"
		}
	}
	if site.ProvisionURL == "" {
		site.ProvisionURL = "http://" + e.HTTPAddr().String() + "/provision/"
	}
	return site
}

// siteCredential finds a provisioning credential by user name in the
// settings (cached until the next configuration change).
func (e *Engine) siteCredential(username string) (provision.SiteCredential, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := e.router.snaps.settings(ctx)
	if err != nil {
		e.log.Error("provisioning credentials", "error", err)
		return provision.SiteCredential{}, false
	}
	c, ok := st.siteCreds[username]
	return c, ok
}

func (b *adminBackend) ProvisioningModels(context.Context) (any, error) {
	return map[string]any{"models": provision.Models()}, nil
}

func (b *adminBackend) PhoneConfig(ctx context.Context, ext, name string) (string, []byte, string, error) {
	p, err := b.db.Phones().FindByName(ctx, name)
	if err != nil || p.Extension != ext {
		return "", nil, "", admin.NotFound("phone")
	}
	u, err := b.db.Users().FindByExtension(ctx, ext)
	if err != nil {
		return "", nil, "", apiError(err, "user")
	}
	m, ok := provision.Lookup(p.Model)
	if !ok {
		return "", nil, "", admin.Invalid("model", "provisionable", "the phone has no model that is provisioned")
	}
	if p.MAC == "" {
		return "", nil, "", admin.Invalid("mac", "required", "the phone has no MAC address, which its file name needs")
	}
	fileName, content, contentType, err := provision.Render(m, provisionDevice(p, u), b.site())
	var se *provision.SettingError
	if errors.As(err, &se) {
		return "", nil, "", admin.Invalid("overrides", "setting", se.Error())
	}
	return fileName, content, contentType, err
}

func (b *adminBackend) Resync(ctx context.Context, name string) (int, error) {
	p, err := b.db.Phones().FindByName(ctx, name)
	if err != nil {
		return 0, apiError(err, "phone")
	}
	m, ok := provision.Lookup(p.Model)
	if !ok || m.CheckSyncEvent == "" {
		return 0, admin.Invalid("model", "provisionable", "the phone has no model that is provisioned")
	}
	n := b.sip.Resync(ctx, p.Extension, p.Name, m.CheckSyncEvent)
	if n == 0 {
		return 0, &admin.Error{Status: 409, Field: "name", Rule: "registered", Message: "the phone is not registered"}
	}
	return n, nil
}
