-- Users, their email addresses, their phones, global settings and the
-- registrar's bindings. Times are INTEGER unix milliseconds (UTC).

CREATE TABLE users (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    extension             TEXT    NOT NULL UNIQUE,
    login_name            TEXT    NOT NULL COLLATE NOCASE UNIQUE,
    first_name            TEXT    NOT NULL DEFAULT '',
    last_name             TEXT    NOT NULL DEFAULT '',
    department            TEXT    NOT NULL DEFAULT '',
    site                  TEXT    NOT NULL DEFAULT '',
    timezone              TEXT    NOT NULL DEFAULT '',
    scope                 TEXT    NOT NULL DEFAULT 'basic_user' CHECK (scope IN (
                              'basic_user', 'office_manager', 'call_center_agent',
                              'call_center_supervisor', 'site_manager', 'admin')),
    record_calls          INTEGER NOT NULL DEFAULT 0 CHECK (record_calls IN (0, 1)),
    announce_in_directory INTEGER NOT NULL DEFAULT 0 CHECK (announce_in_directory IN (0, 1)),
    list_in_directory     INTEGER NOT NULL DEFAULT 0 CHECK (list_in_directory IN (0, 1)),
    area_code             TEXT    NOT NULL DEFAULT '',
    caller_id_name        TEXT    NOT NULL DEFAULT '',
    caller_id_number      TEXT    NOT NULL DEFAULT '',
    emergency_caller_id   TEXT    NOT NULL DEFAULT '',
    emergency_address     TEXT    NOT NULL DEFAULT '',
    phone_number          TEXT    NOT NULL DEFAULT '',
    mobile_number         TEXT    NOT NULL DEFAULT '',
    pager_number          TEXT    NOT NULL DEFAULT '',
    voicemail_enabled     INTEGER NOT NULL DEFAULT 0 CHECK (voicemail_enabled IN (0, 1)),
    voicemail_pin_hash    TEXT,   -- NULL: no PIN set
    password_hash         TEXT,   -- NULL: no password set
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL
);

CREATE INDEX users_site ON users (site);
CREATE INDEX users_department ON users (department);
CREATE INDEX users_phone_number ON users (phone_number) WHERE phone_number <> '';

CREATE TABLE user_emails (
    user_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    address  TEXT    NOT NULL COLLATE NOCASE,
    PRIMARY KEY (user_id, position),
    UNIQUE (user_id, address)
) WITHOUT ROWID;

CREATE TABLE phones (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id          INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name             TEXT    NOT NULL UNIQUE,
    sip_password     TEXT    NOT NULL,
    model            TEXT    NOT NULL DEFAULT '',
    mac              TEXT    UNIQUE, -- 12 lowercase hex digits; NULL: unknown
    record_calls     INTEGER NOT NULL DEFAULT 0 CHECK (record_calls IN (0, 1)),
    preferred_server TEXT    NOT NULL DEFAULT '',
    overrides        TEXT    NOT NULL DEFAULT '{}'
                         CHECK (json_valid(overrides) AND json_type(overrides) = 'object'),
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);

CREATE INDEX phones_user_id ON phones (user_id);

CREATE TABLE settings (
    key        TEXT    PRIMARY KEY,
    value      TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE registrations (
    id         INTEGER PRIMARY KEY,
    phone_id   INTEGER NOT NULL REFERENCES phones (id) ON DELETE CASCADE,
    aor        TEXT    NOT NULL,
    contact    TEXT    NOT NULL,
    instance   TEXT    NOT NULL DEFAULT '',
    reg_id     INTEGER NOT NULL DEFAULT 0,
    source     TEXT    NOT NULL DEFAULT '',
    transport  TEXT    NOT NULL DEFAULT '',
    user_agent TEXT    NOT NULL DEFAULT '',
    path       TEXT    NOT NULL DEFAULT '',
    call_id    TEXT    NOT NULL DEFAULT '',
    cseq       INTEGER NOT NULL DEFAULT 0,
    expires_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (phone_id, contact)
);

CREATE INDEX registrations_expires_at ON registrations (expires_at);
CREATE INDEX registrations_aor ON registrations (aor);
