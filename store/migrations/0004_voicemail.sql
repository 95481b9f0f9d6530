-- Voicemail: each user's mailbox options, messages, greetings and name
-- recording. Rows hold the keys of audio kept in the blob store (written
-- and synced before the row is committed); they never hold audio.

CREATE TABLE voicemail_boxes (
    user_id             INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    sort_latest_first   INTEGER NOT NULL DEFAULT 0 CHECK (sort_latest_first IN (0, 1)),
    announce_time       INTEGER NOT NULL DEFAULT 1 CHECK (announce_time IN (0, 1)),
    announce_caller_id  INTEGER NOT NULL DEFAULT 1 CHECK (announce_caller_id IN (0, 1)),
    -- Where 0 pressed during the greeting goes: an extension or an outside
    -- number; '' for nowhere.
    operator_forward    TEXT    NOT NULL DEFAULT '',
    email_mode          TEXT    NOT NULL DEFAULT 'none' CHECK (email_mode IN (
                            'none', 'link', 'brief_link', 'attachment', 'brief_attachment')),
    storage_limit_bytes INTEGER NOT NULL DEFAULT 104857600 CHECK (storage_limit_bytes >= 0),
    active_greeting_id  INTEGER REFERENCES voicemail_greetings (id) ON DELETE SET NULL,
    name_key            TEXT    NOT NULL DEFAULT '', -- the recorded name; '' when none
    name_bytes          INTEGER NOT NULL DEFAULT 0,
    -- Mailbox login failures: counted and locked here, not in memory, so
    -- that every engine sees them.
    pin_failures        INTEGER NOT NULL DEFAULT 0,
    locked_until        INTEGER NOT NULL DEFAULT 0, -- unix ms; 0: not locked
    updated_at          INTEGER NOT NULL
);

CREATE TABLE voicemail_greetings (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    audio_key   TEXT    NOT NULL UNIQUE,
    size_bytes  INTEGER NOT NULL CHECK (size_bytes >= 0),
    duration_ms INTEGER NOT NULL CHECK (duration_ms >= 0),
    created_at  INTEGER NOT NULL,
    UNIQUE (user_id, name)
);

CREATE TABLE voicemail_messages (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    folder        TEXT    NOT NULL DEFAULT 'new' CHECK (folder IN ('new', 'saved')),
    caller_number TEXT    NOT NULL DEFAULT '',
    caller_name   TEXT    NOT NULL DEFAULT '',
    received_at   INTEGER NOT NULL,
    duration_ms   INTEGER NOT NULL CHECK (duration_ms >= 0),
    size_bytes    INTEGER NOT NULL CHECK (size_bytes >= 0),
    audio_key     TEXT    NOT NULL UNIQUE
);

CREATE INDEX voicemail_messages_user ON voicemail_messages (user_id, folder, received_at);

-- Audio whose row is gone (a deleted message, a replaced greeting, a
-- deleted user) waits here until the blob store has removed it: deleting
-- a row never does I/O inside its transaction, and a crash between the two
-- leaves a key to sweep, not a leak.
CREATE TABLE voicemail_orphans (
    audio_key  TEXT    PRIMARY KEY,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TRIGGER voicemail_messages_orphan AFTER DELETE ON voicemail_messages BEGIN
    INSERT OR IGNORE INTO voicemail_orphans (audio_key, created_at) VALUES (old.audio_key, unixepoch() * 1000);
END;

CREATE TRIGGER voicemail_greetings_orphan AFTER DELETE ON voicemail_greetings BEGIN
    INSERT OR IGNORE INTO voicemail_orphans (audio_key, created_at) VALUES (old.audio_key, unixepoch() * 1000);
END;

CREATE TRIGGER voicemail_name_orphan AFTER UPDATE OF name_key ON voicemail_boxes
    WHEN old.name_key <> '' AND old.name_key <> new.name_key BEGIN
    INSERT OR IGNORE INTO voicemail_orphans (audio_key, created_at) VALUES (old.name_key, unixepoch() * 1000);
END;

CREATE TRIGGER voicemail_box_orphan AFTER DELETE ON voicemail_boxes WHEN old.name_key <> '' BEGIN
    INSERT OR IGNORE INTO voicemail_orphans (audio_key, created_at) VALUES (old.name_key, unixepoch() * 1000);
END;
