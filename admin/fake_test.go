package admin

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

var _ Backend = (*fakeBackend)(nil)

// fakeBackend keeps users and phones in maps, with the rules a real backend
// would apply to them: unique extension, login name and phone name, and a
// generated SIP password when none is given.
//
// It keeps GeneratedSIPPassword on the stored phone and so returns it from
// every read, as a careless adapter might: the tests prove the handlers
// still never write it outside the create answer.
type fakeBackend struct {
	mu sync.Mutex // guards the fields below

	now       time.Time
	users     map[string]*fakeUser             // by extension
	phones    map[string]map[string]*fakePhone // by extension, then name
	regs      []Registration
	err       error // when set, every method returns it
	calls     int   // method calls so far
	lastList  UserListFilter
	lastRegs  string // ext passed to the last ListRegistrations
	generated int

	timeFrames  map[string]*TimeFrame       // by name
	rules       map[string][]*AnsweringRule // by extension, in order
	allowBlock  map[string]AllowBlock       // by extension
	nextRuleID  int64
	lastPatch   AnsweringRulePatch // the last UpdateAnsweringRule patch
	lastExplain ExplainQuery       // the last Explain query
	explanation Explanation        // what Explain answers, Extension set

	trunk         Trunk
	trunkPassword string
	denied        []DeniedPrefix

	liveCalls     []Call
	settings      Settings
	provisionPass map[string]string // provisioning credential passwords by user name
}

type fakeUser struct {
	user     User
	pin      string
	password string
}

type fakePhone struct {
	phone       Phone
	sipPassword string
}

func newFakeBackend() *fakeBackend {
	return &fakeBackend{
		now:    time.Date(2025, 3, 1, 9, 30, 0, 0, time.UTC),
		users:  map[string]*fakeUser{},
		phones: map[string]map[string]*fakePhone{},

		timeFrames: map[string]*TimeFrame{
			"always": {Name: "always", Always: true},
		},
		rules:      map[string][]*AnsweringRule{},
		allowBlock: map[string]AllowBlock{},
	}
}

// begin counts a call and returns the configured failure, if any. The
// caller holds f.mu.
func (f *fakeBackend) begin() error {
	f.calls++
	return f.err
}

func (f *fakeBackend) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func (f *fakeBackend) failWith(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

func (f *fakeBackend) CreateUser(_ context.Context, in UserInput) (User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(); err != nil {
		return User{}, err
	}
	if in.FirstName == "" && in.LastName == "" {
		return User{}, Invalid("last_name", "required", "a user needs a first or last name")
	}
	if _, ok := f.users[in.Extension]; ok {
		return User{}, Conflict("extension")
	}
	if in.LoginName != "" && f.loginTaken(in.LoginName, "") {
		return User{}, Conflict("login_name")
	}
	u := User{
		FirstName: in.FirstName, LastName: in.LastName, Extension: in.Extension,
		LoginName: in.LoginName, Department: in.Department, Site: in.Site,
		Timezone: in.Timezone, Emails: slices.Clone(in.Emails), Scope: in.Scope,
		RecordCalls: in.RecordCalls, AnnounceInDirectory: in.AnnounceInDirectory,
		ListInDirectory: in.ListInDirectory, AreaCode: in.AreaCode,
		CallerIDName: in.CallerIDName, CallerIDNumber: in.CallerIDNumber,
		EmergencyCallerID: in.EmergencyCallerID, EmergencyAddress: in.EmergencyAddress,
		PhoneNumber: in.PhoneNumber, MobileNumber: in.MobileNumber, PagerNumber: in.PagerNumber,
		VoicemailEnabled: in.VoicemailEnabled,
		HasVoicemailPIN:  in.VoicemailPIN != "", HasPassword: in.Password != "",
		CreatedAt: f.now, UpdatedAt: f.now,
	}
	if u.Scope == "" {
		u.Scope = "basic"
	}
	u.CallPaths = 2
	if in.CallPaths != nil {
		u.CallPaths = *in.CallPaths
	}
	f.users[u.Extension] = &fakeUser{user: u, pin: in.VoicemailPIN, password: in.Password}
	f.nextRuleID++
	f.rules[u.Extension] = []*AnsweringRule{{
		ID: f.nextRuleID, IsDefault: true, TimeFrame: "always", Enabled: true,
		CreatedAt: f.now, UpdatedAt: f.now,
	}}
	return u, nil
}

func (f *fakeBackend) loginTaken(login, exceptExt string) bool {
	for ext, fu := range f.users {
		if ext != exceptExt && fu.user.LoginName == login {
			return true
		}
	}
	return false
}

func (f *fakeBackend) ListUsers(_ context.Context, filter UserListFilter) ([]User, int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(); err != nil {
		return nil, 0, err
	}
	f.lastList = filter
	var match []User
	for _, ext := range slices.Sorted(maps.Keys(f.users)) {
		u := f.users[ext].user
		if (filter.Site == "" || u.Site == filter.Site) &&
			(filter.Department == "" || u.Department == filter.Department) {
			match = append(match, u)
		}
	}
	total := len(match)
	lo := min(filter.Offset, total)
	hi := min(lo+filter.Limit, total)
	return match[lo:hi], total, nil
}

func (f *fakeBackend) GetUser(_ context.Context, ext string) (User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(); err != nil {
		return User{}, err
	}
	fu, ok := f.users[ext]
	if !ok {
		return User{}, NotFound("user")
	}
	return fu.user, nil
}

func (f *fakeBackend) UpdateUser(_ context.Context, ext string, p UserPatch) (User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(); err != nil {
		return User{}, err
	}
	fu, ok := f.users[ext]
	if !ok {
		return User{}, NotFound("user")
	}
	if p.Extension != nil && *p.Extension != ext {
		if _, taken := f.users[*p.Extension]; taken {
			return User{}, Conflict("extension")
		}
	}
	if p.LoginName != nil && f.loginTaken(*p.LoginName, ext) {
		return User{}, Conflict("login_name")
	}
	u := &fu.user
	set(&u.FirstName, p.FirstName)
	set(&u.LastName, p.LastName)
	set(&u.LoginName, p.LoginName)
	set(&u.Department, p.Department)
	set(&u.Site, p.Site)
	set(&u.Timezone, p.Timezone)
	set(&u.Emails, p.Emails)
	set(&u.Scope, p.Scope)
	set(&u.RecordCalls, p.RecordCalls)
	set(&u.AnnounceInDirectory, p.AnnounceInDirectory)
	set(&u.ListInDirectory, p.ListInDirectory)
	set(&u.AreaCode, p.AreaCode)
	set(&u.CallerIDName, p.CallerIDName)
	set(&u.CallerIDNumber, p.CallerIDNumber)
	set(&u.EmergencyCallerID, p.EmergencyCallerID)
	set(&u.EmergencyAddress, p.EmergencyAddress)
	set(&u.PhoneNumber, p.PhoneNumber)
	set(&u.MobileNumber, p.MobileNumber)
	set(&u.PagerNumber, p.PagerNumber)
	set(&u.VoicemailEnabled, p.VoicemailEnabled)
	set(&u.CallPaths, p.CallPaths)
	if p.VoicemailPIN != nil {
		fu.pin = *p.VoicemailPIN
		u.HasVoicemailPIN = fu.pin != ""
	}
	if p.Password != nil {
		fu.password = *p.Password
		u.HasPassword = fu.password != ""
	}
	u.UpdatedAt = f.now.Add(time.Minute)
	if p.Extension != nil && *p.Extension != ext {
		u.Extension = *p.Extension
		delete(f.users, ext)
		f.users[u.Extension] = fu
		if phones := f.phones[ext]; phones != nil {
			for _, fp := range phones {
				fp.phone.Extension = u.Extension
			}
			delete(f.phones, ext)
			f.phones[u.Extension] = phones
		}
	}
	return *u, nil
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

func (f *fakeBackend) DeleteUser(_ context.Context, ext string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(); err != nil {
		return err
	}
	if _, ok := f.users[ext]; !ok {
		return NotFound("user")
	}
	delete(f.users, ext)
	delete(f.phones, ext)
	delete(f.rules, ext)
	delete(f.allowBlock, ext)
	return nil
}

func (f *fakeBackend) CreatePhone(_ context.Context, ext string, in PhoneInput) (Phone, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(); err != nil {
		return Phone{}, err
	}
	if _, ok := f.users[ext]; !ok {
		return Phone{}, NotFound("user")
	}
	for _, phones := range f.phones {
		if _, taken := phones[in.Name]; taken {
			return Phone{}, Conflict("name")
		}
	}
	p := Phone{
		Name: in.Name, Extension: ext, Model: in.Model, MAC: in.MAC,
		RecordCalls: in.RecordCalls, PreferredServer: in.PreferredServer,
		Overrides: maps.Clone(in.Overrides), CreatedAt: f.now, UpdatedAt: f.now,
	}
	secret := in.SIPPassword
	if secret == "" {
		f.generated++
		secret = fmt.Sprintf("GenSecret%03dqZ", f.generated)
		p.GeneratedSIPPassword = secret
	}
	if f.phones[ext] == nil {
		f.phones[ext] = map[string]*fakePhone{}
	}
	f.phones[ext][p.Name] = &fakePhone{phone: p, sipPassword: secret}
	return p, nil
}

func (f *fakeBackend) ListPhones(_ context.Context, ext string) ([]Phone, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(); err != nil {
		return nil, err
	}
	if _, ok := f.users[ext]; !ok {
		return nil, NotFound("user")
	}
	var out []Phone
	for _, name := range slices.Sorted(maps.Keys(f.phones[ext])) {
		out = append(out, f.phones[ext][name].phone)
	}
	return out, nil
}

func (f *fakeBackend) phone(ext, name string) (*fakePhone, error) {
	if _, ok := f.users[ext]; !ok {
		return nil, NotFound("user")
	}
	fp, ok := f.phones[ext][name]
	if !ok {
		return nil, NotFound("phone")
	}
	return fp, nil
}

func (f *fakeBackend) GetPhone(_ context.Context, ext, name string) (Phone, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(); err != nil {
		return Phone{}, err
	}
	fp, err := f.phone(ext, name)
	if err != nil {
		return Phone{}, err
	}
	return fp.phone, nil
}

func (f *fakeBackend) UpdatePhone(_ context.Context, ext, name string, p PhonePatch) (Phone, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(); err != nil {
		return Phone{}, err
	}
	fp, err := f.phone(ext, name)
	if err != nil {
		return Phone{}, err
	}
	set(&fp.sipPassword, p.SIPPassword)
	set(&fp.phone.Model, p.Model)
	set(&fp.phone.MAC, p.MAC)
	set(&fp.phone.RecordCalls, p.RecordCalls)
	set(&fp.phone.PreferredServer, p.PreferredServer)
	set(&fp.phone.Overrides, p.Overrides)
	fp.phone.UpdatedAt = f.now.Add(time.Minute)
	return fp.phone, nil
}

func (f *fakeBackend) DeletePhone(_ context.Context, ext, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(); err != nil {
		return err
	}
	if _, err := f.phone(ext, name); err != nil {
		return err
	}
	delete(f.phones[ext], name)
	return nil
}

func (f *fakeBackend) ListRegistrations(_ context.Context, ext string) ([]Registration, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(); err != nil {
		return nil, err
	}
	f.lastRegs = ext
	var out []Registration
	for _, r := range f.regs {
		if ext == "" || r.Extension == ext {
			out = append(out, r)
		}
	}
	return out, nil
}

const testToken = "s3cr3t-admin-token"

// testEnv is an admin handler behind a real HTTP server.
type testEnv struct {
	srv     *httptest.Server
	backend *fakeBackend
	reg     *prometheus.Registry
	logs    *syncBuffer
	health  error // answer of the Health func
	healthM sync.Mutex
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	e := &testEnv{backend: newFakeBackend(), reg: prometheus.NewRegistry(), logs: &syncBuffer{}}
	h := NewHandler(Config{
		Backend: e.backend,
		CheckToken: func(tok string) bool {
			return subtle.ConstantTimeCompare([]byte(tok), []byte(testToken)) == 1
		},
		Gatherer:   e.reg,
		Registerer: e.reg,
		Health: func(context.Context) error {
			e.healthM.Lock()
			defer e.healthM.Unlock()
			return e.health
		},
		Logger: slog.New(slog.NewTextHandler(e.logs, nil)),
		Now:    func() time.Time { return e.backend.now },
	})
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	return e
}

// newRequest builds a request with the right token and, with a body, the
// JSON content type; tests change its headers for the odd cases.
func (e *testEnv) newRequest(t *testing.T, method, path, body string) *http.Request {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+testToken)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body as an object.
func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.body, &m), "body: %s", r.body)
	return m
}

// send runs req and checks what every answer must have: no-store, no Server
// header, and a JSON body unless there is no body at all.
func (e *testEnv) send(t *testing.T, req *http.Request) response {
	t.Helper()
	res, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)

	require.Equal(t, "no-store", res.Header.Get("Cache-Control"))
	require.Empty(t, res.Header.Values("Server"))
	if res.StatusCode != http.StatusNoContent && req.URL.Path != "/metrics" && req.Method != http.MethodHead {
		require.Equal(t, "application/json", res.Header.Get("Content-Type"))
		require.True(t, json.Valid(body), "body is not JSON: %s", body)
	}
	if res.StatusCode == http.StatusNoContent {
		require.Empty(t, body)
	}
	return response{status: res.StatusCode, header: res.Header, body: body}
}

func (e *testEnv) do(t *testing.T, method, path, body string) response {
	t.Helper()
	return e.send(t, e.newRequest(t, method, path, body))
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
