package provision

import (
	"regexp"
	"strings"
)

// The models, one small description each. File names and parameters follow
// ../shared/PROVISIONING-FACTS.md and the vendors' admin guides; the
// templates they name are in templates/.

const (
	contentKeyValue = "text/plain; charset=utf-8"
	contentXML      = "application/xml; charset=utf-8"
)

// phoneSpec describes a per-phone file named prefix + MAC + suffix.
func phoneSpec(prefix, suffix string, upper bool, format Format, template, frame, root string) fileSpec {
	mac := "{mac}"
	if upper {
		mac = "{MAC}"
	}
	return fileSpec{
		prefix: prefix, suffix: suffix, upper: upper, pattern: prefix + mac + suffix,
		template: template, frame: frame, root: root, format: format, ctype: contentType(format),
	}
}

// commonSpec describes a common file with a fixed name.
func commonSpec(name string, format Format, template, frame, root string) fileSpec {
	return fileSpec{
		name: name, pattern: name,
		template: template, frame: frame, root: root, format: format, ctype: contentType(format),
	}
}

// commonPatternSpec describes common files whose names match re.
func commonPatternSpec(re, pattern, example string, format Format, template, frame, root string) fileSpec {
	return fileSpec{
		re: regexp.MustCompile(re), pattern: pattern, example: example,
		template: template, frame: frame, root: root, format: format, ctype: contentType(format),
	}
}

func contentType(f Format) string {
	if f == FormatKeyValue {
		return contentKeyValue
	}
	return contentXML
}

// Yealink: per phone <mac>.cfg (lowercase), common y0000000000XX.cfg where
// XX is the hardware ID of the model. The common file is the same for every
// Yealink model, so any hardware ID is answered; newer firmware asks for
// y000000000000.boot and <MAC>.boot first and falls back to these files
// when there are none.
func yealink(id, description string, aliases []string) Model {
	spec := &modelSpec{
		phone: phoneSpec("", ".cfg", false, FormatKeyValue, "yealink.phone", "frame.keyvalue", ""),
		common: []fileSpec{commonPatternSpec(`^y000000000[0-9]{3}\.cfg$`, "y0000000000XX.cfg", "y000000000000.cfg",
			FormatKeyValue, "yealink.common", "frame.keyvalue", "")},
		keys: yealinkKeys,
	}
	return Model{
		ID: id, Vendor: "Yealink", Aliases: aliases,
		Description:    description,
		CheckSyncEvent: "check-sync;reboot=false",
		spec:           spec,
	}
}

// Polycom VVX: the phone asks for its per-phone master <mac>.cfg, else the
// default master 000000000000.cfg; both list <mac>-switchboard.cfg in
// CONFIG_FILES, the file with the account. (<mac>-phone.cfg is where the
// phone uploads its own changes, so the account file is named otherwise.)
func polycomVVX() Model {
	spec := &modelSpec{
		phone: phoneSpec("", "-switchboard.cfg", false, FormatXML, "polycom.phone", "frame.xml-attributes", "polycomConfig"),
		other: []fileSpec{phoneSpec("", ".cfg", false, FormatXML, "polycom.master", "frame.xml-attributes", "APPLICATION")},
		common: []fileSpec{commonSpec("000000000000.cfg", FormatXML,
			"polycom.master", "frame.xml-attributes", "APPLICATION")},
		keys: polycomKeys,
	}
	return Model{
		ID: "polycom-vvx", Vendor: "Polycom", Description: "Poly VVX and SoundPoint IP (UC Software)",
		Aliases: prefixed("polycom-vvx", "150", "201", "250", "300", "301", "310", "311", "350", "400", "401",
			"410", "411", "450", "500", "501", "600", "601"),
		CheckSyncEvent: "check-sync",
		spec:           spec,
	}
}

// Cisco SPA: the default profile rule asks for spa<product>.cfg (such as
// spa504G.cfg), which points Profile_Rule at spa<mac>.xml.
func ciscoSPA() Model {
	spec := &modelSpec{
		phone: phoneSpec("spa", ".xml", false, FormatXML, "cisco.phone", "frame.flat-profile", ""),
		common: []fileSpec{commonPatternSpec(`^(?i:spa)[0-9][0-9A-Za-z]{1,7}\.cfg$`, "spa<product>.cfg", "spa504G.cfg",
			FormatXML, "cisco.common", "frame.flat-profile", "")},
		keys: ciscoKeys,
	}
	return Model{
		ID: "cisco-spa", Vendor: "Cisco", Description: "Cisco SPA300/SPA500 series",
		Aliases:        prefixed("cisco-spa", "303", "501g", "502g", "504g", "508g", "509g", "512g", "514g", "525g", "525g2"),
		CheckSyncEvent: "resync",
		spec:           spec,
	}
}

// Cisco MPP (3PCC): the model file <model>-3PCC.xml chains to <mac>.xml.
func ciscoMPP() Model {
	spec := &modelSpec{
		phone: phoneSpec("", ".xml", false, FormatXML, "cisco.phone", "frame.flat-profile", ""),
		common: []fileSpec{commonPatternSpec(`^[A-Za-z0-9][A-Za-z0-9-]{0,31}-(?i:3pcc)\.xml$`, "<model>-3PCC.xml", "CP-8841-3PCC.xml",
			FormatXML, "cisco.common", "frame.flat-profile", "")},
		keys: ciscoKeys,
	}
	return Model{
		ID: "cisco-mpp", Vendor: "Cisco", Description: "Cisco IP Phone 6800/7800/8800 multiplatform (3PCC) firmware",
		Aliases: prefixed("cisco-", "6821", "6841", "6851", "6861", "6871", "7811", "7821", "7841", "7861",
			"8811", "8841", "8845", "8851", "8861", "8865"),
		CheckSyncEvent: "resync",
		spec:           spec,
	}
}

// Grandstream GXP and GRP read the same P-values: per phone cfg<mac>.xml
// (lowercase), generic cfg.xml.
func grandstream(id, description string, aliases []string) Model {
	spec := &modelSpec{
		phone:  phoneSpec("cfg", ".xml", false, FormatXML, "grandstream.phone", "frame.gs-provision", ""),
		common: []fileSpec{commonSpec("cfg.xml", FormatXML, "grandstream.common", "frame.gs-provision", "")},
		keys:   grandstreamKeys,
	}
	return Model{
		ID: id, Vendor: "Grandstream", Description: description, Aliases: aliases,
		CheckSyncEvent: "check-sync",
		spec:           spec,
	}
}

// Snom: per phone <MAC>.xml (uppercase); the model file snom<model>.xml
// points the phone at it. The older snom<model>-<MAC>.htm format is not
// served.
func snom() Model {
	spec := &modelSpec{
		phone: phoneSpec("", ".xml", true, FormatXML, "snom.phone", "frame.snom-settings", ""),
		common: []fileSpec{commonPatternSpec(`^(?i:snom)[A-Za-z0-9]{2,8}\.xml$`, "snom<model>.xml", "snomD785.xml",
			FormatXML, "snom.common", "frame.snom-setting-files", "")},
		keys: snomKeys,
	}
	return Model{
		ID: "snom", Vendor: "Snom", Description: "Snom 3xx, 7xx and D-series (XML settings)",
		Aliases: prefixed("snom-", "300", "320", "360", "370", "710", "715", "720", "725", "760", "820", "870",
			"d120", "d315", "d335", "d345", "d375", "d385", "d713", "d717", "d735", "d765", "d785", "d862", "d865"),
		CheckSyncEvent: "check-sync",
		spec:           spec,
	}
}

func prefixed(prefix string, names ...string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = prefix + n
	}
	return out
}

// registry is every model, in the order Models lists them; byID maps IDs
// and aliases to positions.
var registry, byID = buildRegistry()

func buildRegistry() ([]Model, map[string]int) {
	models := []Model{
		yealink("yealink-t4x", "Yealink T4x: T40, T41, T42, T43, T46, T48 (common files such as y000000000028.cfg for the T46G, 29 T42G, 35 T48G, 36 T41P)",
			prefixed("yealink-", "t40p", "t40g", "t41p", "t41s", "t41u", "t42g", "t42s", "t42u", "t43u",
				"t46g", "t46s", "t46u", "t48g", "t48s", "t48u")),
		yealink("yealink-t5x", "Yealink T5x: T52S, T53, T54S/W, T56A, T57W, T58 (common file y0000000000XX.cfg for its hardware ID)",
			prefixed("yealink-", "t52s", "t53", "t53w", "t54s", "t54w", "t56a", "t57w", "t58")),
		polycomVVX(),
		ciscoSPA(),
		ciscoMPP(),
		grandstream("grandstream-gxp", "Grandstream GXP16xx/GXP17xx/GXP21xx",
			prefixed("grandstream-gxp", "1610", "1615", "1620", "1625", "1628", "1630", "1760", "1780", "1782",
				"2130", "2135", "2140", "2160", "2170")),
		grandstream("grandstream-grp", "Grandstream GRP26xx",
			prefixed("grandstream-grp", "2601", "2602", "2603", "2604", "2612", "2613", "2614", "2615", "2616")),
		snom(),
	}
	index := make(map[string]int)
	for i := range models {
		m := &models[i]
		spec := m.spec
		m.Format = spec.phone.format
		m.ContentType = spec.phone.ctype
		m.PhoneFile = spec.phone.pattern
		for _, f := range spec.other {
			m.OtherPhoneFiles = append(m.OtherPhoneFiles, f.pattern)
		}
		for _, f := range spec.common {
			m.CommonFiles = append(m.CommonFiles, f.pattern)
		}
		m.OverrideKeys = strings.ToUpper(spec.keys.desc[:1]) + spec.keys.desc[1:]
		for _, name := range append([]string{m.ID}, m.Aliases...) {
			index[name] = i // a duplicate is caught by TestRegistry
		}
	}
	return models, index
}
