-- Time frames, answering rules, allow/block lists and call paths per user.
-- Times are INTEGER unix milliseconds (UTC).

ALTER TABLE users ADD COLUMN call_paths INTEGER NOT NULL DEFAULT 2
    CHECK (call_paths BETWEEN 0 AND 50); -- 0: unlimited

-- weekly: [{"days": ["mon", ...], "start": "09:00", "end": "17:00"}, ...]
-- dates:  [{"from": "2026-12-24", "to": "2026-12-26"}, ...]
CREATE TABLE time_frames (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL COLLATE NOCASE UNIQUE,
    always     INTEGER NOT NULL DEFAULT 0 CHECK (always IN (0, 1)),
    weekly     TEXT    NOT NULL DEFAULT '[]'
                   CHECK (json_valid(weekly) AND json_type(weekly) = 'array'),
    dates      TEXT    NOT NULL DEFAULT '[]'
                   CHECK (json_valid(dates) AND json_type(dates) = 'array'),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- The built-in frame every default rule uses; the store refuses to change
-- or delete it.
INSERT INTO time_frames (name, always, created_at, updated_at)
VALUES ('always', 1, CAST(strftime('%s', 'now') AS INTEGER) * 1000,
        CAST(strftime('%s', 'now') AS INTEGER) * 1000);

-- forward_*: NULL or {"kind": "user|handset|voicemail|external", "to": "..."}
-- simring:   NULL or {"include_user": bool, "ring_all_phones": bool,
--            "destinations": [{"kind", "to", "delay_s", "confirm"}, ...]}
-- time_frame shares the parent's NOCASE collation so that the foreign key
-- lookups can use answering_rules_time_frame.
CREATE TABLE answering_rules (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id            INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    position           INTEGER NOT NULL,
    time_frame         TEXT    NOT NULL COLLATE NOCASE
                           REFERENCES time_frames (name) ON UPDATE CASCADE ON DELETE RESTRICT,
    is_default         INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),
    enabled            INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    dnd                INTEGER NOT NULL DEFAULT 0 CHECK (dnd IN (0, 1)),
    screening          INTEGER NOT NULL DEFAULT 0 CHECK (screening IN (0, 1)),
    ring_for_s         INTEGER NOT NULL DEFAULT 0 CHECK (ring_for_s BETWEEN 0 AND 600),
    forward_always     TEXT CHECK (forward_always IS NULL OR
                           (json_valid(forward_always) AND json_type(forward_always) = 'object')),
    forward_busy       TEXT CHECK (forward_busy IS NULL OR
                           (json_valid(forward_busy) AND json_type(forward_busy) = 'object')),
    forward_unanswered TEXT CHECK (forward_unanswered IS NULL OR
                           (json_valid(forward_unanswered) AND json_type(forward_unanswered) = 'object')),
    forward_offline    TEXT CHECK (forward_offline IS NULL OR
                           (json_valid(forward_offline) AND json_type(forward_offline) = 'object')),
    simring            TEXT CHECK (simring IS NULL OR
                           (json_valid(simring) AND json_type(simring) = 'object')),
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    UNIQUE (user_id, position)
);

CREATE UNIQUE INDEX answering_rules_default ON answering_rules (user_id) WHERE is_default = 1;
CREATE INDEX answering_rules_time_frame ON answering_rules (time_frame);

-- Every user has exactly one default rule.
INSERT INTO answering_rules (user_id, position, time_frame, is_default, enabled, created_at, updated_at)
SELECT id, 0, 'always', 1, 1, CAST(strftime('%s', 'now') AS INTEGER) * 1000,
       CAST(strftime('%s', 'now') AS INTEGER) * 1000
FROM users;

CREATE TABLE allow_block (
    user_id         INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    allowed         TEXT    NOT NULL DEFAULT '[]'
                        CHECK (json_valid(allowed) AND json_type(allowed) = 'array'),
    blocked         TEXT    NOT NULL DEFAULT '[]'
                        CHECK (json_valid(blocked) AND json_type(blocked) = 'array'),
    block_anonymous INTEGER NOT NULL DEFAULT 0 CHECK (block_anonymous IN (0, 1))
);
