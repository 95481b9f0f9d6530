package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Scope is a user's role in the portal and the admin API.
type Scope string

// The scopes, least to most privileged.
const (
	ScopeBasicUser            Scope = "basic_user"
	ScopeOfficeManager        Scope = "office_manager"
	ScopeCallCenterAgent      Scope = "call_center_agent"
	ScopeCallCenterSupervisor Scope = "call_center_supervisor"
	ScopeSiteManager          Scope = "site_manager"
	ScopeAdmin                Scope = "admin"
)

var scopes = []Scope{
	ScopeBasicUser, ScopeOfficeManager, ScopeCallCenterAgent,
	ScopeCallCenterSupervisor, ScopeSiteManager, ScopeAdmin,
}

// Valid reports whether s is one of the defined scopes.
func (s Scope) Valid() bool {
	for _, v := range scopes {
		if s == v {
			return true
		}
	}
	return false
}

func (s Scope) String() string { return string(s) }

func scopeNames() []string {
	names := make([]string, len(scopes))
	for i, s := range scopes {
		names[i] = string(s)
	}
	return names
}

// User is a person with an extension. The password and voicemail PIN hashes
// stay inside the package: HasPassword and HasVoicemailPIN say whether one
// is set, VerifyPassword and VerifyPIN check a candidate.
type User struct {
	ID                  int64
	Extension           string
	LoginName           string
	FirstName           string
	LastName            string
	Department          string
	Site                string
	Timezone            string // IANA name; empty means the domain default
	Emails              []string
	Scope               Scope
	RecordCalls         bool
	AnnounceInDirectory bool
	ListInDirectory     bool
	AreaCode            string
	CallerIDName        string
	CallerIDNumber      string
	EmergencyCallerID   string
	EmergencyAddress    string
	PhoneNumber         string
	MobileNumber        string
	PagerNumber         string
	VoicemailEnabled    bool
	CallPaths           int // concurrent calls before the user is busy; 0: unlimited
	HasVoicemailPIN     bool
	HasPassword         bool
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

// NewUser is a user to create. Password and VoicemailPIN are plaintext,
// hashed before they are stored; empty means none set. An empty Scope means
// basic_user, an empty LoginName means the extension and a zero CallPaths
// means DefaultCallPaths (Users.Update sets 0, unlimited).
type NewUser struct {
	User
	Password     string
	VoicemailPIN string
}

// UserUpdate lists the fields to change; nil leaves a field as it is.
// Emails replaces the whole list. An empty Password or VoicemailPIN clears
// it (the user then has none).
type UserUpdate struct {
	Extension, LoginName, FirstName, LastName, Department, Site, Timezone *string

	Emails *[]string
	Scope  *Scope

	RecordCalls, AnnounceInDirectory, ListInDirectory *bool

	AreaCode, CallerIDName, CallerIDNumber, EmergencyCallerID, EmergencyAddress *string
	PhoneNumber, MobileNumber, PagerNumber                                      *string

	VoicemailEnabled *bool

	CallPaths *int // 0: unlimited

	Password, VoicemailPIN *string
}

// DefaultCallPaths is the number of call paths a new user gets.
const DefaultCallPaths = 2

// UserFilter selects users; empty fields match everything. Limit 0 means
// 100 and is capped at 1000.
type UserFilter struct {
	Extension  string
	Site       string
	Department string
	Limit      int
	Offset     int
}

// Users is the users repository.
type Users struct {
	db *DB
}

// hashCost is the bcrypt cost for passwords and PINs.
var hashCost = bcrypt.DefaultCost

// dummyHash is compared against when a user or a hash is missing, so that a
// failed check takes as long as a real one and reveals nothing.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("switchboard-no-such-user"), hashCost)
	return h
})

func hashSecret(s string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(s), hashCost)
	if err != nil {
		return "", err
	}
	return string(h), nil
}

// userColumns selects a User; the emails come as a JSON array in order.
const userColumns = `u.id, u.extension, u.login_name, u.first_name, u.last_name,
	u.department, u.site, u.timezone, u.scope, u.record_calls,
	u.announce_in_directory, u.list_in_directory, u.area_code, u.caller_id_name,
	u.caller_id_number, u.emergency_caller_id, u.emergency_address,
	u.phone_number, u.mobile_number, u.pager_number, u.voicemail_enabled,
	u.call_paths, u.voicemail_pin_hash IS NOT NULL, u.password_hash IS NOT NULL,
	u.created_at, u.updated_at,
	(SELECT json_group_array(address) FROM
		(SELECT address FROM user_emails WHERE user_id = u.id ORDER BY position))`

type scanner interface {
	Scan(dest ...any) error
}

func scanUser(s scanner) (User, error) {
	var (
		u                User
		created, updated int64
		emails           string
		scope            string
	)
	err := s.Scan(&u.ID, &u.Extension, &u.LoginName, &u.FirstName, &u.LastName,
		&u.Department, &u.Site, &u.Timezone, &scope, &u.RecordCalls,
		&u.AnnounceInDirectory, &u.ListInDirectory, &u.AreaCode, &u.CallerIDName,
		&u.CallerIDNumber, &u.EmergencyCallerID, &u.EmergencyAddress,
		&u.PhoneNumber, &u.MobileNumber, &u.PagerNumber, &u.VoicemailEnabled,
		&u.CallPaths, &u.HasVoicemailPIN, &u.HasPassword, &created, &updated, &emails)
	if err != nil {
		return User{}, err
	}
	u.Scope = Scope(scope)
	u.CreatedAt, u.UpdatedAt = fromMillis(created), fromMillis(updated)
	if err := json.Unmarshal([]byte(emails), &u.Emails); err != nil {
		return User{}, fmt.Errorf("decode emails: %w", err)
	}
	if len(u.Emails) == 0 {
		u.Emails = []string{}
	}
	return u, nil
}

func findUser(ctx context.Context, tx *sql.Tx, where string, args ...any) (User, error) {
	u, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users u WHERE `+where, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrNotFound
	}
	return u, err
}

func writeEmails(ctx context.Context, tx *sql.Tx, userID int64, emails []string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM user_emails WHERE user_id = ?`, userID); err != nil {
		return err
	}
	for i, e := range emails {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO user_emails (user_id, position, address) VALUES (?, ?, ?)`,
			userID, i, e); err != nil {
			return mapConstraint(err)
		}
	}
	return nil
}

// Create validates nu, hashes its password and PIN and stores it.
func (r *Users) Create(ctx context.Context, nu NewUser) (User, error) {
	u := nu.User
	if u.Scope == "" {
		u.Scope = ScopeBasicUser
	}
	if u.LoginName == "" {
		u.LoginName = u.Extension
	}
	if u.Emails == nil {
		u.Emails = []string{}
	}
	if u.CallPaths == 0 {
		u.CallPaths = DefaultCallPaths
	}
	if err := validateUser(&u); err != nil {
		return User{}, fmt.Errorf("create user: %w", err)
	}
	var pwHash, pinHash sql.NullString
	if nu.Password != "" {
		if err := checkPassword(nu.Password); err != nil {
			return User{}, fmt.Errorf("create user: %w", err)
		}
		h, err := hashSecret(nu.Password)
		if err != nil {
			return User{}, fmt.Errorf("create user %s: hash password: %w", u.Extension, err)
		}
		pwHash = sql.NullString{String: h, Valid: true}
	}
	if nu.VoicemailPIN != "" {
		if err := r.db.PINPolicy.Check(nu.VoicemailPIN, u.Extension, u.PhoneNumber); err != nil {
			return User{}, fmt.Errorf("create user: %w", err)
		}
		h, err := hashSecret(nu.VoicemailPIN)
		if err != nil {
			return User{}, fmt.Errorf("create user %s: hash pin: %w", u.Extension, err)
		}
		pinHash = sql.NullString{String: h, Valid: true}
	}

	var out User
	err := r.db.update(ctx, func(tx *sql.Tx) error {
		now := r.db.now().UnixMilli()
		res, err := tx.ExecContext(ctx, `INSERT INTO users (
			extension, login_name, first_name, last_name, department, site, timezone,
			scope, record_calls, announce_in_directory, list_in_directory, area_code,
			caller_id_name, caller_id_number, emergency_caller_id, emergency_address,
			phone_number, mobile_number, pager_number, voicemail_enabled, call_paths,
			voicemail_pin_hash, password_hash, created_at, updated_at
		) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			u.Extension, u.LoginName, u.FirstName, u.LastName, u.Department, u.Site, u.Timezone,
			string(u.Scope), boolInt(u.RecordCalls), boolInt(u.AnnounceInDirectory),
			boolInt(u.ListInDirectory), u.AreaCode, u.CallerIDName, u.CallerIDNumber,
			u.EmergencyCallerID, u.EmergencyAddress, u.PhoneNumber, u.MobileNumber,
			u.PagerNumber, boolInt(u.VoicemailEnabled), u.CallPaths, pinHash, pwHash, now, now)
		if err != nil {
			return mapConstraint(err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		if err := writeEmails(ctx, tx, id, u.Emails); err != nil {
			return err
		}
		if err := insertDefaultRule(ctx, tx, id, now); err != nil {
			return err
		}
		out, err = findUser(ctx, tx, `u.id = ?`, id)
		return err
	})
	if err != nil {
		return User{}, fmt.Errorf("create user %s: %w", u.Extension, err)
	}
	return out, nil
}

// FindByExtension returns the user with extension ext.
func (r *Users) FindByExtension(ctx context.Context, ext string) (User, error) {
	var u User
	err := r.db.view(ctx, func(tx *sql.Tx) error {
		var err error
		u, err = findUser(ctx, tx, `u.extension = ?`, ext)
		return err
	})
	if err != nil {
		return User{}, fmt.Errorf("user %s: %w", ext, err)
	}
	return u, nil
}

// Find returns one page of the users matching f, ordered by extension
// (numerically: 100 before 1000), and how many match in all.
func (r *Users) Find(ctx context.Context, f UserFilter) ([]User, int, error) {
	var (
		where []string
		args  []any
	)
	if f.Extension != "" {
		where, args = append(where, "u.extension = ?"), append(args, f.Extension)
	}
	if f.Site != "" {
		where, args = append(where, "u.site = ?"), append(args, f.Site)
	}
	if f.Department != "" {
		where, args = append(where, "u.department = ?"), append(args, f.Department)
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var (
		users []User
		total int
	)
	err := r.db.view(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users u`+cond, args...).Scan(&total); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+userColumns+` FROM users u`+cond+
			` ORDER BY length(u.extension), u.extension LIMIT ? OFFSET ?`,
			append(args, limit(f.Limit), max(f.Offset, 0))...)
		if err != nil {
			return err
		}
		defer rows.Close()
		users = []User{}
		for rows.Next() {
			u, err := scanUser(rows)
			if err != nil {
				return err
			}
			users = append(users, u)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, 0, fmt.Errorf("find users: %w", err)
	}
	return users, total, nil
}

// Update applies upd to the user with extension ext. The result is
// validated as a whole; on any error nothing changes.
func (r *Users) Update(ctx context.Context, ext string, upd UserUpdate) (User, error) {
	// Hash outside the transaction: bcrypt is slow and the write lock is
	// shared by every writer.
	var pwHash, pinHash sql.NullString
	if upd.Password != nil && *upd.Password != "" {
		if err := checkPassword(*upd.Password); err != nil {
			return User{}, fmt.Errorf("update user %s: %w", ext, err)
		}
		h, err := hashSecret(*upd.Password)
		if err != nil {
			return User{}, fmt.Errorf("update user %s: hash password: %w", ext, err)
		}
		pwHash = sql.NullString{String: h, Valid: true}
	}
	if upd.VoicemailPIN != nil && *upd.VoicemailPIN != "" {
		// The rules that need no stored data; "personal" and "previous"
		// follow inside the transaction.
		if err := r.db.PINPolicy.Check(*upd.VoicemailPIN, "", ""); err != nil {
			return User{}, fmt.Errorf("update user %s: %w", ext, err)
		}
		h, err := hashSecret(*upd.VoicemailPIN)
		if err != nil {
			return User{}, fmt.Errorf("update user %s: hash pin: %w", ext, err)
		}
		pinHash = sql.NullString{String: h, Valid: true}
	}

	// Likewise compare the new PIN with the stored one before taking the
	// write lock; inside the transaction the comparison is repeated only if
	// the stored hash changed in between.
	var seenPIN string
	var pinReused bool
	if pinHash.Valid {
		err := r.db.view(ctx, func(tx *sql.Tx) error {
			var h sql.NullString
			err := tx.QueryRowContext(ctx, `SELECT voicemail_pin_hash FROM users WHERE extension = ?`, ext).Scan(&h)
			if errors.Is(err, sql.ErrNoRows) {
				return ErrNotFound
			}
			seenPIN = h.String
			return err
		})
		if err != nil {
			return User{}, fmt.Errorf("update user %s: %w", ext, err)
		}
		pinReused = seenPIN != "" && bcrypt.CompareHashAndPassword([]byte(seenPIN), []byte(*upd.VoicemailPIN)) == nil
	}

	var out User
	err := r.db.update(ctx, func(tx *sql.Tx) error {
		u, err := findUser(ctx, tx, `u.extension = ?`, ext)
		if err != nil {
			return err
		}
		var oldPIN, oldPassword sql.NullString
		if err := tx.QueryRowContext(ctx,
			`SELECT voicemail_pin_hash, password_hash FROM users WHERE id = ?`, u.ID,
		).Scan(&oldPIN, &oldPassword); err != nil {
			return err
		}
		upd.apply(&u)
		if err := validateUser(&u); err != nil {
			return err
		}
		if upd.Password == nil {
			pwHash = oldPassword
		}
		if upd.VoicemailPIN == nil {
			pinHash = oldPIN
		} else if pin := *upd.VoicemailPIN; pin != "" {
			if err := r.db.PINPolicy.Check(pin, u.Extension, u.PhoneNumber); err != nil {
				return err
			}
			if oldPIN.String != seenPIN {
				pinReused = oldPIN.Valid && bcrypt.CompareHashAndPassword([]byte(oldPIN.String), []byte(pin)) == nil
			}
			if pinReused {
				return invalid("voicemail_pin", RulePrevious, "must differ from the previous PIN")
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE users SET
			extension = ?, login_name = ?, first_name = ?, last_name = ?, department = ?,
			site = ?, timezone = ?, scope = ?, record_calls = ?, announce_in_directory = ?,
			list_in_directory = ?, area_code = ?, caller_id_name = ?, caller_id_number = ?,
			emergency_caller_id = ?, emergency_address = ?, phone_number = ?,
			mobile_number = ?, pager_number = ?, voicemail_enabled = ?, call_paths = ?,
			voicemail_pin_hash = ?, password_hash = ?, updated_at = ?
			WHERE id = ?`,
			u.Extension, u.LoginName, u.FirstName, u.LastName, u.Department,
			u.Site, u.Timezone, string(u.Scope), boolInt(u.RecordCalls), boolInt(u.AnnounceInDirectory),
			boolInt(u.ListInDirectory), u.AreaCode, u.CallerIDName, u.CallerIDNumber,
			u.EmergencyCallerID, u.EmergencyAddress, u.PhoneNumber,
			u.MobileNumber, u.PagerNumber, boolInt(u.VoicemailEnabled), u.CallPaths,
			pinHash, pwHash, r.db.now().UnixMilli(), u.ID)
		if err != nil {
			return mapConstraint(err)
		}
		if upd.Emails != nil {
			if err := writeEmails(ctx, tx, u.ID, u.Emails); err != nil {
				return err
			}
		}
		out, err = findUser(ctx, tx, `u.id = ?`, u.ID)
		return err
	})
	if err != nil {
		return User{}, fmt.Errorf("update user %s: %w", ext, err)
	}
	return out, nil
}

func (upd *UserUpdate) apply(u *User) {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	setBool := func(dst *bool, src *bool) {
		if src != nil {
			*dst = *src
		}
	}
	set(&u.Extension, upd.Extension)
	set(&u.LoginName, upd.LoginName)
	set(&u.FirstName, upd.FirstName)
	set(&u.LastName, upd.LastName)
	set(&u.Department, upd.Department)
	set(&u.Site, upd.Site)
	set(&u.Timezone, upd.Timezone)
	if upd.Emails != nil {
		u.Emails = append([]string{}, (*upd.Emails)...)
	}
	if upd.Scope != nil {
		u.Scope = *upd.Scope
	}
	setBool(&u.RecordCalls, upd.RecordCalls)
	setBool(&u.AnnounceInDirectory, upd.AnnounceInDirectory)
	setBool(&u.ListInDirectory, upd.ListInDirectory)
	set(&u.AreaCode, upd.AreaCode)
	set(&u.CallerIDName, upd.CallerIDName)
	set(&u.CallerIDNumber, upd.CallerIDNumber)
	set(&u.EmergencyCallerID, upd.EmergencyCallerID)
	set(&u.EmergencyAddress, upd.EmergencyAddress)
	set(&u.PhoneNumber, upd.PhoneNumber)
	set(&u.MobileNumber, upd.MobileNumber)
	set(&u.PagerNumber, upd.PagerNumber)
	setBool(&u.VoicemailEnabled, upd.VoicemailEnabled)
	if upd.CallPaths != nil {
		u.CallPaths = *upd.CallPaths
	}
}

// Delete removes the user with extension ext, and with it their emails,
// phones, registrations, answering rules and allow/block lists.
func (r *Users) Delete(ctx context.Context, ext string) error {
	err := r.db.update(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM users WHERE extension = ?`, ext)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete user %s: %w", ext, err)
	}
	return nil
}

// VerifyPassword reports whether password is the portal password of the
// user with extension ext. A user without a password verifies nothing. An
// unknown extension returns ErrNotFound after the same amount of work as a
// wrong password.
func (r *Users) VerifyPassword(ctx context.Context, ext, password string) (bool, error) {
	return r.verify(ctx, "password_hash", "password", ext, password)
}

// VerifyPIN reports whether pin is the voicemail PIN of the user with
// extension ext, on the same terms as VerifyPassword.
func (r *Users) VerifyPIN(ctx context.Context, ext, pin string) (bool, error) {
	return r.verify(ctx, "voicemail_pin_hash", "pin", ext, pin)
}

func (r *Users) verify(ctx context.Context, column, what, ext, secret string) (bool, error) {
	var hash sql.NullString
	err := r.db.view(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT `+column+` FROM users WHERE extension = ?`, ext).Scan(&hash)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		return err
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return false, fmt.Errorf("verify %s of user %s: %w", what, ext, err)
	}
	if err != nil || !hash.Valid {
		bcrypt.CompareHashAndPassword(dummyHash(), []byte(secret))
		if err != nil {
			return false, fmt.Errorf("verify %s of user %s: %w", what, ext, err)
		}
		return false, nil
	}
	return bcrypt.CompareHashAndPassword([]byte(hash.String), []byte(secret)) == nil, nil
}

// Count returns the number of users.
func (r *Users) Count(ctx context.Context) (int, error) {
	var n int
	err := r.db.view(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	return n, nil
}

// DirectoryListing is a user the dial-by-name directory can find.
type DirectoryListing struct {
	Extension, FirstName, LastName string
	// NameKey is the blob key of the user's recorded name; "" for none.
	NameKey string
}

// Announced returns the users who chose to be announced in the audio
// directory (announce_in_directory), by extension.
func (r *Users) Announced(ctx context.Context) ([]DirectoryListing, error) {
	var out []DirectoryListing
	err := r.db.view(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `
			SELECT u.extension, u.first_name, u.last_name, coalesce(b.name_key, '')
			FROM users u LEFT JOIN voicemail_boxes b ON b.user_id = u.id
			WHERE u.announce_in_directory = 1 ORDER BY u.extension`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var l DirectoryListing
			if err := rows.Scan(&l.Extension, &l.FirstName, &l.LastName, &l.NameKey); err != nil {
				return err
			}
			out = append(out, l)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("directory listings: %w", err)
	}
	return out, nil
}
