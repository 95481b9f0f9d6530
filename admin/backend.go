package admin

import (
	"context"
	"time"
)

// Backend is what the admin API needs from storage. The root package
// implements it over the store.
//
// Methods return an *Error for anything the client should hear about: a
// missing user or phone (NotFound), a value already taken (Conflict), a field
// that breaks a rule (Invalid). Any other error answers 500 and is logged.
type Backend interface {
	CreateUser(ctx context.Context, in UserInput) (User, error)
	// ListUsers returns one page of the users matching f, ordered by
	// extension, and the number of users matching f across all pages.
	ListUsers(ctx context.Context, f UserListFilter) ([]User, int, error)
	GetUser(ctx context.Context, ext string) (User, error)
	// UpdateUser applies the non-nil fields of p. A non-nil p.Extension
	// moves the user, with its phones, to that extension.
	UpdateUser(ctx context.Context, ext string, p UserPatch) (User, error)
	DeleteUser(ctx context.Context, ext string) error

	// CreatePhone adds a phone to the user at ext. When in.SIPPassword is
	// empty it generates one and returns it in Phone.GeneratedSIPPassword.
	CreatePhone(ctx context.Context, ext string, in PhoneInput) (Phone, error)
	ListPhones(ctx context.Context, ext string) ([]Phone, error)
	GetPhone(ctx context.Context, ext, name string) (Phone, error)
	UpdatePhone(ctx context.Context, ext, name string, p PhonePatch) (Phone, error)
	DeletePhone(ctx context.Context, ext, name string) error

	// ListRegistrations returns the live registrations of the user at ext,
	// or of every user when ext is empty.
	ListRegistrations(ctx context.Context, ext string) ([]Registration, error)

	// ListTimeFrames returns every time frame, the built-in "always" first.
	ListTimeFrames(ctx context.Context) ([]TimeFrame, error)
	CreateTimeFrame(ctx context.Context, in TimeFrameInput) (TimeFrame, error)
	GetTimeFrame(ctx context.Context, name string) (TimeFrame, error)
	UpdateTimeFrame(ctx context.Context, name string, p TimeFramePatch) (TimeFrame, error)
	// DeleteTimeFrame refuses a frame that answering rules use with
	// InUse("time_frame"), and the built-in one with rule "builtin".
	DeleteTimeFrame(ctx context.Context, name string) error

	// ListAnsweringRules returns the rules of the user at ext in order.
	ListAnsweringRules(ctx context.Context, ext string) ([]AnsweringRule, error)
	CreateAnsweringRule(ctx context.Context, ext string, in AnsweringRuleInput) (AnsweringRule, error)
	GetAnsweringRule(ctx context.Context, ext string, id int64) (AnsweringRule, error)
	UpdateAnsweringRule(ctx context.Context, ext string, id int64, p AnsweringRulePatch) (AnsweringRule, error)
	// DeleteAnsweringRule refuses the default rule with rule
	// "default_rule".
	DeleteAnsweringRule(ctx context.Context, ext string, id int64) error
	// ReorderAnsweringRules puts the rules in the order of ids, which must
	// name each of the user's rules once, and returns them in that order.
	ReorderAnsweringRules(ctx context.Context, ext string, ids []int64) ([]AnsweringRule, error)

	GetAllowBlock(ctx context.Context, ext string) (AllowBlock, error)
	// PutAllowBlock replaces the lists of the user at ext.
	PutAllowBlock(ctx context.Context, ext string, ab AllowBlock) (AllowBlock, error)

	// GetTrunk returns the SIP trunk (an empty Host: none configured).
	GetTrunk(ctx context.Context) (Trunk, error)
	// PutTrunk replaces the trunk. An empty Password in in keeps the
	// stored one, so that a form can be saved without re-typing it.
	PutTrunk(ctx context.Context, in TrunkInput) (Trunk, error)
	// ListDeniedPrefixes returns the toll-fraud deny list.
	ListDeniedPrefixes(ctx context.Context) ([]DeniedPrefix, error)
	// PutDeniedPrefixes replaces the deny list.
	PutDeniedPrefixes(ctx context.Context, list []DeniedPrefix) ([]DeniedPrefix, error)

	// Explain answers how a call from q.From at q.At to the user at ext
	// would be handled, from the same decision a real call gets, without
	// ringing anything.
	Explain(ctx context.Context, ext string, q ExplainQuery) (Explanation, error)

	// ListCalls returns the calls in progress, oldest first.
	ListCalls(ctx context.Context) ([]Call, error)

	GetSettings(ctx context.Context) (Settings, error)
	// UpdateSettings applies the non-nil members of p, all or none.
	UpdateSettings(ctx context.Context, p SettingsPatch) (Settings, error)
}

// User is a user as the API shows it. It has no secret fields: the password
// and voicemail PIN are only reported as set or not.
type User struct {
	FirstName           string    `json:"first_name"`
	LastName            string    `json:"last_name"`
	Extension           string    `json:"extension"`
	LoginName           string    `json:"login_name"`
	Department          string    `json:"department"`
	Site                string    `json:"site"`
	Timezone            string    `json:"timezone"` // IANA name
	Emails              []string  `json:"emails"`
	Scope               string    `json:"scope"`
	RecordCalls         bool      `json:"record_calls"`
	AnnounceInDirectory bool      `json:"announce_in_directory"` // dial-by-name
	ListInDirectory     bool      `json:"list_in_directory"`     // contacts, phone directory
	AreaCode            string    `json:"area_code"`             // for 7-digit dialing
	CallerIDName        string    `json:"caller_id_name"`
	CallerIDNumber      string    `json:"caller_id_number"`
	EmergencyCallerID   string    `json:"emergency_caller_id"`
	EmergencyAddress    string    `json:"emergency_address"`
	PhoneNumber         string    `json:"phone_number"`
	MobileNumber        string    `json:"mobile_number"`
	PagerNumber         string    `json:"pager_number"`
	VoicemailEnabled    bool      `json:"voicemail_enabled"`
	CallPaths           int       `json:"call_paths"` // calls at once before busy; 0: unlimited
	HasVoicemailPIN     bool      `json:"has_voicemail_pin"`
	HasPassword         bool      `json:"has_password"`
	CreatedAt           time.Time `json:"created_at"`
	UpdatedAt           time.Time `json:"updated_at"`
}

// UserInput is the body of a user creation. Fields absent from the request
// keep the values of defaultUserInput. VoicemailPIN and Password are plain
// text on their way to the backend, which checks and hashes them; they are
// never answered back.
type UserInput struct {
	FirstName           string   `json:"first_name"`
	LastName            string   `json:"last_name"`
	Extension           string   `json:"extension"`
	LoginName           string   `json:"login_name"`
	Department          string   `json:"department"`
	Site                string   `json:"site"`
	Timezone            string   `json:"timezone"`
	Emails              []string `json:"emails"`
	Scope               string   `json:"scope"`
	RecordCalls         bool     `json:"record_calls"`
	AnnounceInDirectory bool     `json:"announce_in_directory"`
	ListInDirectory     bool     `json:"list_in_directory"`
	AreaCode            string   `json:"area_code"`
	CallerIDName        string   `json:"caller_id_name"`
	CallerIDNumber      string   `json:"caller_id_number"`
	EmergencyCallerID   string   `json:"emergency_caller_id"`
	EmergencyAddress    string   `json:"emergency_address"`
	PhoneNumber         string   `json:"phone_number"`
	MobileNumber        string   `json:"mobile_number"`
	PagerNumber         string   `json:"pager_number"`
	VoicemailEnabled    bool     `json:"voicemail_enabled"`
	CallPaths           *int     `json:"call_paths"` // nil: the backend's default
	VoicemailPIN        string   `json:"voicemail_pin"`
	Password            string   `json:"password"`
}

// defaultUserInput holds what a new user gets for the fields the request
// leaves out: listed in both directories, with voicemail.
func defaultUserInput() UserInput {
	return UserInput{
		AnnounceInDirectory: true,
		ListInDirectory:     true,
		VoicemailEnabled:    true,
	}
}

// UserPatch is the body of a user update: a nil field stays unchanged.
type UserPatch struct {
	FirstName           *string   `json:"first_name"`
	LastName            *string   `json:"last_name"`
	Extension           *string   `json:"extension"`
	LoginName           *string   `json:"login_name"`
	Department          *string   `json:"department"`
	Site                *string   `json:"site"`
	Timezone            *string   `json:"timezone"`
	Emails              *[]string `json:"emails"`
	Scope               *string   `json:"scope"`
	RecordCalls         *bool     `json:"record_calls"`
	AnnounceInDirectory *bool     `json:"announce_in_directory"`
	ListInDirectory     *bool     `json:"list_in_directory"`
	AreaCode            *string   `json:"area_code"`
	CallerIDName        *string   `json:"caller_id_name"`
	CallerIDNumber      *string   `json:"caller_id_number"`
	EmergencyCallerID   *string   `json:"emergency_caller_id"`
	EmergencyAddress    *string   `json:"emergency_address"`
	PhoneNumber         *string   `json:"phone_number"`
	MobileNumber        *string   `json:"mobile_number"`
	PagerNumber         *string   `json:"pager_number"`
	VoicemailEnabled    *bool     `json:"voicemail_enabled"`
	CallPaths           *int      `json:"call_paths"`
	VoicemailPIN        *string   `json:"voicemail_pin"`
	Password            *string   `json:"password"`
}

// userReadOnly names the user fields a client may read but not write.
var userReadOnly = []string{"has_voicemail_pin", "has_password", "created_at", "updated_at"}

// UserListFilter selects a page of users.
type UserListFilter struct {
	Site       string // exact match when not empty
	Department string // exact match when not empty
	Limit      int    // page size, always between 1 and maxListLimit
	Offset     int    // users to skip, never negative
}

// Phone is a phone (SIP device) of a user as the API shows it.
type Phone struct {
	Name            string            `json:"name"` // SIP auth user name
	Extension       string            `json:"extension"`
	Model           string            `json:"model"`
	MAC             string            `json:"mac"`
	RecordCalls     bool              `json:"record_calls"`
	PreferredServer string            `json:"preferred_server"`
	Overrides       map[string]string `json:"overrides"` // merged into its provisioning file
	CreatedAt       time.Time         `json:"created_at"`
	UpdatedAt       time.Time         `json:"updated_at"`

	// GeneratedSIPPassword is set by CreatePhone, and only there, when it
	// generated the phone's SIP password. It is never marshalled with the
	// phone: the create handler alone writes it out.
	GeneratedSIPPassword string `json:"-"`
}

// PhoneInput is the body of a phone creation. An empty SIPPassword asks the
// backend to generate one.
type PhoneInput struct {
	Name            string            `json:"name"`
	SIPPassword     string            `json:"sip_password"`
	Model           string            `json:"model"`
	MAC             string            `json:"mac"`
	RecordCalls     bool              `json:"record_calls"`
	PreferredServer string            `json:"preferred_server"`
	Overrides       map[string]string `json:"overrides"`
}

// PhonePatch is the body of a phone update: a nil field stays unchanged.
// A phone's name cannot change.
type PhonePatch struct {
	SIPPassword     *string            `json:"sip_password"`
	Model           *string            `json:"model"`
	MAC             *string            `json:"mac"`
	RecordCalls     *bool              `json:"record_calls"`
	PreferredServer *string            `json:"preferred_server"`
	Overrides       *map[string]string `json:"overrides"` // replaces the whole set
}

// phoneReadOnly names the phone fields a client may read but not write; name
// is settable at creation only.
var (
	phoneReadOnly      = []string{"extension", "created_at", "updated_at"}
	phonePatchReadOnly = []string{"name", "extension", "created_at", "updated_at"}
)

// Registration is one live contact binding of a phone.
type Registration struct {
	Phone     string    `json:"phone"`
	Extension string    `json:"extension"`
	Contact   string    `json:"contact"`    // Contact URI the phone registered
	Source    string    `json:"source"`     // host:port the REGISTER came from
	Transport string    `json:"transport"`  // UDP or TCP
	UserAgent string    `json:"user_agent"` // its User-Agent header
	ExpiresAt time.Time `json:"expires_at"`
}

// TimeFrame is a named set of times that answering rules refer to. It
// matches when Always is set, or the time of the call, on the wall clock of
// the called user's time zone, falls in one of its weekly ranges or dates.
type TimeFrame struct {
	Name      string        `json:"name"`
	Always    bool          `json:"always"` // only the built-in "always" frame
	Weekly    []WeeklyRange `json:"weekly"`
	Dates     []DateRange   `json:"dates"`
	CreatedAt time.Time     `json:"created_at"`
	UpdatedAt time.Time     `json:"updated_at"`
}

// WeeklyRange is a time of day on some days of the week: Days among "mon"
// to "sun", Start and End "HH:MM". An End before the Start runs past
// midnight.
type WeeklyRange struct {
	Days  []string `json:"days"`
	Start string   `json:"start"`
	End   string   `json:"end"`
}

// DateRange is the whole days From through To, both "YYYY-MM-DD".
type DateRange struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// TimeFrameInput is the body of a time frame creation.
type TimeFrameInput struct {
	Name   string        `json:"name"`
	Weekly []WeeklyRange `json:"weekly"`
	Dates  []DateRange   `json:"dates"`
}

// TimeFramePatch is the body of a time frame update: a nil field stays
// unchanged; Weekly and Dates replace the whole list.
type TimeFramePatch struct {
	Name   *string        `json:"name"`
	Weekly *[]WeeklyRange `json:"weekly"`
	Dates  *[]DateRange   `json:"dates"`
}

// timeFrameReadOnly names the time frame fields a client may read but not
// write.
var timeFrameReadOnly = []string{"always", "created_at", "updated_at"}

// Forward sends a call elsewhere. Kind is "user" (To is an extension whose
// own rules apply), "handset" (To is a phone name), "voicemail" (To is the
// extension of a mailbox) or "external" (To is a number).
type Forward struct {
	Kind string `json:"kind"`
	To   string `json:"to"`
}

// SimRing rings other destinations along with, or instead of, the user's
// phones.
type SimRing struct {
	IncludeUser   bool                 `json:"include_user"`
	RingAllPhones bool                 `json:"ring_all_phones"`
	Destinations  []SimRingDestination `json:"destinations"`
}

// SimRingDestination is one more destination of a SimRing, rung DelayS
// seconds after the call arrives; Confirm asks whoever answers to press 1
// to accept the call. Left out, Confirm is true for an external number
// (off-net: a mobile's voicemail must not take the call) and false for
// the others; the API always shows it.
type SimRingDestination struct {
	Kind    string `json:"kind"` // user, handset or external
	To      string `json:"to"`
	DelayS  int    `json:"delay_s"`
	Confirm *bool  `json:"confirm"`
}

// AnsweringRule is one of a user's ordered answering rules. The active rule
// is the first enabled one whose time frame matches; the default rule, on
// the "always" frame, cannot be deleted.
type AnsweringRule struct {
	ID        int64  `json:"id"`
	Position  int    `json:"position"` // 0 first
	IsDefault bool   `json:"is_default"`
	TimeFrame string `json:"time_frame"`
	Enabled   bool   `json:"enabled"`
	DND       bool   `json:"dnd"`
	Screening bool   `json:"screening"`
	RingForS  int    `json:"ring_for_s"` // 0: the system default

	// Each nil (null) when not set.
	ForwardAlways     *Forward `json:"forward_always"`
	ForwardBusy       *Forward `json:"forward_busy"`
	ForwardUnanswered *Forward `json:"forward_unanswered"`
	ForwardOffline    *Forward `json:"forward_offline"`
	SimRing           *SimRing `json:"simring"`

	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// AnsweringRuleInput is the body of an answering rule creation. Fields
// absent from the request keep the values of defaultAnsweringRuleInput; a
// forward or simring that is absent or null is not set.
type AnsweringRuleInput struct {
	TimeFrame         string   `json:"time_frame"`
	Enabled           bool     `json:"enabled"`
	DND               bool     `json:"dnd"`
	Screening         bool     `json:"screening"`
	RingForS          int      `json:"ring_for_s"`
	ForwardAlways     *Forward `json:"forward_always"`
	ForwardBusy       *Forward `json:"forward_busy"`
	ForwardUnanswered *Forward `json:"forward_unanswered"`
	ForwardOffline    *Forward `json:"forward_offline"`
	SimRing           *SimRing `json:"simring"`
}

// defaultAnsweringRuleInput holds what a new rule gets for the fields the
// request leaves out: enabled, nothing else set.
func defaultAnsweringRuleInput() AnsweringRuleInput {
	return AnsweringRuleInput{Enabled: true}
}

// AnsweringRulePatch is the body of an answering rule update. A nil pointer
// or an unset Optional stays unchanged; an Optional set to null clears the
// forward or the simultaneous ring.
type AnsweringRulePatch struct {
	TimeFrame         *string           `json:"time_frame"`
	Enabled           *bool             `json:"enabled"`
	DND               *bool             `json:"dnd"`
	Screening         *bool             `json:"screening"`
	RingForS          *int              `json:"ring_for_s"`
	ForwardAlways     Optional[Forward] `json:"forward_always"`
	ForwardBusy       Optional[Forward] `json:"forward_busy"`
	ForwardUnanswered Optional[Forward] `json:"forward_unanswered"`
	ForwardOffline    Optional[Forward] `json:"forward_offline"`
	SimRing           Optional[SimRing] `json:"simring"`
}

// Answering rule fields: read-only ones, and the ones null may clear.
var (
	answeringRuleReadOnly = []string{"id", "position", "is_default", "created_at", "updated_at"}
	answeringRuleNullable = []string{"forward_always", "forward_busy", "forward_unanswered", "forward_offline", "simring"}
)

// AllowBlock is a user's allow and block lists. Allowed numbers bypass call
// screening and do not disturb; blocked numbers get a fast busy;
// BlockAnonymous refuses callers without a number.
type AllowBlock struct {
	Allowed        []string `json:"allowed"`
	Blocked        []string `json:"blocked"`
	BlockAnonymous bool     `json:"block_anonymous"`
}

// ExplainQuery is the call an explanation is asked for.
type ExplainQuery struct {
	// From is the caller: a number, or the extension of a user of this
	// PBX; empty is an anonymous caller.
	From string
	// At is the instant of the call.
	At time.Time
}

// Explanation is what a call would do, and why.
type Explanation struct {
	Extension string        `json:"extension"`
	At        time.Time     `json:"at"`
	Caller    ExplainCaller `json:"caller"`
	Action    string        `json:"action"` // "ring" or "reject"
	// Code and Reason are the SIP answer of a rejection; 0 and "" when the
	// call rings.
	Code   int    `json:"code"`
	Reason string `json:"reason"`
	// Rule is the active rule, nil (null) when none is.
	Rule      *ExplainRule `json:"rule"`
	Screening bool         `json:"screening"`
	// Stages are rung from the first; each stage's OnNoAnswer and OnBusy
	// name the stage that follows, nil (null) when the call ends there.
	Stages      []ExplainStage `json:"stages"`
	Explanation []string       `json:"explanation"`
}

// ExplainCaller is how the caller was understood.
type ExplainCaller struct {
	Number    string `json:"number"`
	Name      string `json:"name"`
	Extension string `json:"extension"` // for a user of this PBX
	Internal  bool   `json:"internal"`
	Anonymous bool   `json:"anonymous"`
}

// ExplainRule names the active answering rule.
type ExplainRule struct {
	ID        int64  `json:"id"`
	Index     int    `json:"index"` // in the user's ordered rules, 0 first
	TimeFrame string `json:"time_frame"`
}

// ExplainStage is a set of targets rung together for at most TimeoutS
// seconds (0: no timer of its own).
type ExplainStage struct {
	TimeoutS   int             `json:"timeout_s"`
	OnNoAnswer *int            `json:"on_no_answer"`
	OnBusy     *int            `json:"on_busy"`
	Targets    []ExplainTarget `json:"targets"`
}

// ExplainTarget is one thing a stage rings: Kind is "phones" (every
// registered phone of the user To), "phone", "user", "voicemail" or
// "external".
type ExplainTarget struct {
	Kind    string `json:"kind"`
	To      string `json:"to"`
	DelayS  int    `json:"delay_s"`
	Confirm bool   `json:"confirm"`
}

// Trunk is the SIP trunk to the provider as the API shows it: the password
// never comes back, only whether one is set.
type Trunk struct {
	Host           string   `json:"host"`
	Port           int      `json:"port"`
	Transport      string   `json:"transport"` // udp or tcp
	Username       string   `json:"username"`
	HasPassword    bool     `json:"has_password"`
	Register       bool     `json:"register"`
	FromDomain     string   `json:"from_domain"`
	InboundSources []string `json:"inbound_sources"` // IP addresses or CIDR prefixes trusted as the provider
	// Registration is the state of this PBX's registration at the
	// provider (read-only).
	Registration TrunkRegistration `json:"registration"`
}

// TrunkRegistration is the state of the registration at the provider.
type TrunkRegistration struct {
	State       string     `json:"state"` // off, registering, registered or failed
	ExpiresAt   *time.Time `json:"expires_at"`
	Error       string     `json:"error"` // why the last attempt failed
	NextAttempt *time.Time `json:"next_attempt"`
}

// TrunkInput is the body of PUT /api/v1/trunk.
type TrunkInput struct {
	Host           string   `json:"host"`
	Port           int      `json:"port"`
	Transport      string   `json:"transport"`
	Username       string   `json:"username"`
	Password       string   `json:"password"` // write-only; empty keeps the stored one
	Register       bool     `json:"register"`
	FromDomain     string   `json:"from_domain"`
	InboundSources []string `json:"inbound_sources"`
}

// DeniedPrefix is a destination prefix (+E.164) no call may reach through
// the trunk, dialled or forwarded.
type DeniedPrefix struct {
	Prefix string `json:"prefix"`
	Note   string `json:"note"`
}
