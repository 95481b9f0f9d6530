package admin

import (
	"fmt"
	"net/http"
)

// Settings are the PBX-wide settings.
type Settings struct {
	// ExternalCallsPerMinute and ExternalCallsConcurrent limit each user's
	// calls out through the trunk (0: unlimited); emergency calls are
	// never limited.
	ExternalCallsPerMinute  int          `json:"external_calls_per_minute"`
	ExternalCallsConcurrent int          `json:"external_calls_concurrent"`
	FeatureCodes            FeatureCodes `json:"feature_codes"`
	// SMTP is the relay voicemail emails leave through; PublicURL is the
	// base of the links in them (e.g. https://pbx.example.com).
	SMTP      SMTPSettings `json:"smtp"`
	PublicURL string       `json:"public_url"`
	// ProvisioningCredentials let desk phones fetch their provisioning
	// files before they know their own SIP credentials.
	ProvisioningCredentials []ProvisioningCredential `json:"provisioning_credentials"`
	// DirectoryByFirstName has the dial-by-name directory spell first
	// names rather than last names.
	DirectoryByFirstName bool `json:"directory_by_first_name"`
	// AnnounceRecording tells the far end of a recorded call "this call
	// may be recorded" before it is connected.
	AnnounceRecording bool `json:"announce_recording"`
}

// ProvisioningCredential is a provisioning user name shared by the phones
// of a site ("" for every site); the password is write-only.
type ProvisioningCredential struct {
	Username    string `json:"username"`
	HasPassword bool   `json:"has_password"`
	Site        string `json:"site"`
}

// ProvisioningCredentialInput is one credential of the list a PATCH sets;
// a nil Password keeps the password stored for that user name.
type ProvisioningCredentialInput struct {
	Username string  `json:"username"`
	Password *string `json:"password"`
	Site     string  `json:"site"`
}

// SMTPSettings are the mail relay's settings; the password is write-only.
type SMTPSettings struct {
	Host        string `json:"host"`
	Port        int    `json:"port"`
	StartTLS    bool   `json:"starttls"`
	Username    string `json:"username"`
	HasPassword bool   `json:"has_password"`
	From        string `json:"from"`
}

// SMTPPatch changes some of the relay's settings.
type SMTPPatch struct {
	Host     *string `json:"host"`
	Port     *int    `json:"port"`
	StartTLS *bool   `json:"starttls"`
	Username *string `json:"username"`
	Password *string `json:"password"`
	From     *string `json:"from"`
}

// FeatureCodes are what users dial to reach the voice applications.
type FeatureCodes struct {
	OwnVoicemail string `json:"own_voicemail"` // default *97
	AnyVoicemail string `json:"any_voicemail"` // default *98
	Directory    string `json:"directory"`     // dial by name, default 411
}

// SettingsPatch holds the members of a PATCH /api/v1/settings body; nil
// leaves a setting as it is.
type SettingsPatch struct {
	ExternalCallsPerMinute  *int               `json:"external_calls_per_minute"`
	ExternalCallsConcurrent *int               `json:"external_calls_concurrent"`
	FeatureCodes            *FeatureCodesPatch `json:"feature_codes"`
	SMTP                    *SMTPPatch         `json:"smtp"`
	PublicURL               *string            `json:"public_url"`
	// ProvisioningCredentials replaces the whole list.
	ProvisioningCredentials *[]ProvisioningCredentialInput `json:"provisioning_credentials"`
	DirectoryByFirstName    *bool                          `json:"directory_by_first_name"`
	AnnounceRecording       *bool                          `json:"announce_recording"`
}

// FeatureCodesPatch changes some feature codes.
type FeatureCodesPatch struct {
	OwnVoicemail *string `json:"own_voicemail"`
	AnyVoicemail *string `json:"any_voicemail"`
	Directory    *string `json:"directory"`
}

func (s *server) getSettings(w http.ResponseWriter, r *http.Request) error {
	st, err := s.backend.GetSettings(r.Context())
	if err != nil {
		return fmt.Errorf("get settings: %w", err)
	}
	return writeJSON(w, http.StatusOK, st)
}

func (s *server) updateSettings(w http.ResponseWriter, r *http.Request) error {
	var p SettingsPatch
	if err := readJSON(w, r, &p, nil); err != nil {
		return err
	}
	st, err := s.backend.UpdateSettings(r.Context(), p)
	if err != nil {
		return fmt.Errorf("update settings: %w", err)
	}
	return writeJSON(w, http.StatusOK, st)
}
