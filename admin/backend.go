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
