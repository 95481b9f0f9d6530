package provision

import (
	"encoding/hex"
	"regexp"
	"slices"
	"strings"
)

// Model is a phone family Switchboard can provision, as the phones API
// accepts it (ID or one of its Aliases) and the models API lists it.
//
// File name patterns write the phone's MAC address as {mac} (12 lowercase
// hex digits) or {MAC} (uppercase), as the phone asks for it; requests are
// matched in either case.
type Model struct {
	ID          string   `json:"id"`
	Vendor      string   `json:"vendor"`
	Description string   `json:"description"`
	Aliases     []string `json:"aliases,omitempty"`
	Format      Format   `json:"format"`
	ContentType string   `json:"content_type"`
	// PhoneFile is the per-phone file that carries the SIP credentials;
	// the phone's overrides are merged into it.
	PhoneFile string `json:"phone_file"`
	// OtherPhoneFiles are per-phone files without credentials.
	OtherPhoneFiles []string `json:"other_phone_files,omitempty"`
	// CommonFiles are the shared files the phone asks for first; they hold
	// no secret.
	CommonFiles []string `json:"common_files"`
	// OverrideKeys says what an override key looks like for this model.
	OverrideKeys string `json:"override_keys"`
	// CheckSyncEvent is the Event header of a NOTIFY that asks a
	// registered phone to fetch its files again.
	CheckSyncEvent string `json:"check_sync_event"`

	spec *modelSpec
}

// modelSpec is how a model's files are named and rendered.
type modelSpec struct {
	phone  fileSpec   // carries credentials; overrides merge here
	other  []fileSpec // other per-phone files
	common []fileSpec
	keys   keyRule
}

// fileSpec is one file of a model. A per-phone file is named prefix + MAC
// + suffix; a common file has a fixed name or matches re.
type fileSpec struct {
	prefix, suffix string
	upper          bool // the phone writes the MAC in uppercase
	name           string
	re             *regexp.Regexp
	example        string // a name re matches, to render the file by
	pattern        string // how Model shows it

	template string // settings template
	frame    string // frame template writing the file
	root     string // root element, for frames that take one
	format   Format
	ctype    string
}

func (f fileSpec) perPhone() bool { return f.name == "" && f.re == nil }

// nameFor is the file name for a MAC (12 lowercase hex digits).
func (f fileSpec) nameFor(mac string) string {
	if f.upper {
		mac = strings.ToUpper(mac)
	}
	return f.prefix + mac + f.suffix
}

// macOf returns the MAC a per-phone file name carries, in lowercase.
func (f fileSpec) macOf(name string) (string, bool) {
	if !f.perPhone() || len(name) != len(f.prefix)+12+len(f.suffix) ||
		!strings.EqualFold(name[:len(f.prefix)], f.prefix) ||
		!strings.EqualFold(name[len(name)-len(f.suffix):], f.suffix) {
		return "", false
	}
	mac := strings.ToLower(name[len(f.prefix) : len(f.prefix)+12])
	if _, err := hex.DecodeString(mac); err != nil || mac == "000000000000" {
		return "", false
	}
	return mac, true
}

// matchesCommon reports whether name is this common file.
func (f fileSpec) matchesCommon(name string) bool {
	switch {
	case f.name != "":
		return strings.EqualFold(name, f.name)
	case f.re != nil:
		return f.re.MatchString(name)
	}
	return false
}

// phoneFiles are every per-phone file of the model, credentials first.
func (s *modelSpec) phoneFiles() []fileSpec {
	return append([]fileSpec{s.phone}, s.other...)
}

// Models lists every model, in a stable order.
func Models() []Model {
	out := make([]Model, len(registry))
	for i, m := range registry {
		out[i] = m
		out[i].Aliases = slices.Clone(m.Aliases)
		out[i].OtherPhoneFiles = slices.Clone(m.OtherPhoneFiles)
		out[i].CommonFiles = slices.Clone(m.CommonFiles)
	}
	return out
}

// Lookup finds a model by ID or alias, in any case ("yealink-t54w" is
// the yealink-t5x model).
func Lookup(id string) (Model, bool) {
	i, ok := byID[strings.ToLower(strings.TrimSpace(id))]
	if !ok {
		return Model{}, false
	}
	return registry[i], true
}

// File is a requested file name resolved: either a phone's file, named by
// its MAC, which the phone's model then has to answer, or a common file.
type File struct {
	Name string
	// MAC is the address a per-phone file names (12 lowercase hex
	// digits); empty for a common file.
	MAC string
	// Models are the models answering a per-phone file of this form, or
	// the model a common file belongs to (the first one listed, when
	// several share it: they render it identically).
	Models []string
}

// Common reports a shared file without credentials.
func (f File) Common() bool { return f.MAC == "" }

// maxFileName bounds a requested name; real ones are under 40 bytes.
const maxFileName = 128

// Resolve turns a requested file name into what it names, without looking
// at any phone: the MAC of a per-phone file, or the model of a common file.
func Resolve(name string) (File, bool) {
	if name == "" || len(name) > maxFileName || strings.ContainsAny(name, "/\\") {
		return File{}, false
	}
	for _, m := range registry {
		for _, f := range m.spec.common {
			if f.matchesCommon(name) {
				return File{Name: name, Models: []string{m.ID}}, true
			}
		}
	}
	var file File
	for _, m := range registry {
		for _, f := range m.spec.phoneFiles() {
			if mac, ok := f.macOf(name); ok {
				file.Name, file.MAC = name, mac
				if !slices.Contains(file.Models, m.ID) {
					file.Models = append(file.Models, m.ID)
				}
			}
		}
	}
	return file, file.MAC != ""
}

// phoneFile finds the model's per-phone file called name for mac.
func (m Model) phoneFile(name, mac string) (fileSpec, bool) {
	for _, f := range m.spec.phoneFiles() {
		if got, ok := f.macOf(name); ok && got == mac {
			return f, true
		}
	}
	return fileSpec{}, false
}

// commonFile finds the model's common file called name; "" is the first.
func (m Model) commonFile(name string) (fileSpec, bool) {
	if len(m.spec.common) == 0 {
		return fileSpec{}, false
	}
	if name == "" {
		return m.spec.common[0], true
	}
	for _, f := range m.spec.common {
		if f.matchesCommon(name) {
			return f, true
		}
	}
	return fileSpec{}, false
}

// CommonFileName is a concrete name of the model's first common file, for
// showing and rendering it (a pattern's variable part filled in).
func (m Model) CommonFileName() string {
	if len(m.spec.common) == 0 {
		return ""
	}
	f := m.spec.common[0]
	if f.name != "" {
		return f.name
	}
	return f.example
}

// CheckSetting says whether key and value could be one of the model's
// overrides; the error is a *SettingError.
func (m Model) CheckSetting(key, value string) error {
	if m.spec == nil {
		return ErrUnknownModel
	}
	if r := m.spec.keys.check(key); r != "" {
		return &SettingError{Model: m.ID, Key: key, Reason: r}
	}
	if r := checkValue(m.spec.phone.format, value); r != "" {
		return &SettingError{Model: m.ID, Key: key, Reason: r}
	}
	return nil
}

// ValidateOverrides checks a phone's overrides for the model with ID (or
// alias) model, as the phones API must before saving them. It reports the
// first bad key in sorted order as a *SettingError, or ErrUnknownModel.
func ValidateOverrides(model string, overrides map[string]string) error {
	m, ok := Lookup(model)
	if !ok {
		return ErrUnknownModel
	}
	keys := make([]string, 0, len(overrides))
	for k := range overrides {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := m.CheckSetting(k, overrides[k]); err != nil {
			return err
		}
	}
	return nil
}
