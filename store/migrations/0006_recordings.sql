-- Call recordings: calls to or from users with record_calls, both
-- directions mixed into one WAV kept in the blob store (written and synced
-- before the row is committed).
--
-- A row belongs to one user: the extension whose record_calls caused the
-- recording. A call between two recorded users is one audio key and two
-- rows, one per owner, so that each owner lists, downloads and deletes
-- their own copy, and each copy counts against its owner's storage limit.
-- The audio goes to the orphans only when its last row goes.

CREATE TABLE call_recordings (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    caller_number TEXT    NOT NULL DEFAULT '',
    caller_name   TEXT    NOT NULL DEFAULT '',
    callee        TEXT    NOT NULL DEFAULT '', -- the number or extension dialled
    call_id       TEXT    NOT NULL DEFAULT '',
    started_at    INTEGER NOT NULL, -- unix ms; when recording began
    duration_ms   INTEGER NOT NULL CHECK (duration_ms >= 0),
    size_bytes    INTEGER NOT NULL CHECK (size_bytes >= 0),
    audio_key     TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    UNIQUE (user_id, audio_key)
);

-- Listing is newest first, for one user or for all.
CREATE INDEX call_recordings_user ON call_recordings (user_id, started_at, id);
CREATE INDEX call_recordings_started ON call_recordings (started_at, id);
-- The orphan trigger looks for other rows naming the same audio.
CREATE INDEX call_recordings_audio ON call_recordings (audio_key);

CREATE TRIGGER call_recordings_orphan AFTER DELETE ON call_recordings
    WHEN NOT EXISTS (SELECT 1 FROM call_recordings WHERE audio_key = old.audio_key) BEGIN
    INSERT OR IGNORE INTO voicemail_orphans (audio_key, created_at) VALUES (old.audio_key, unixepoch() * 1000);
END;
