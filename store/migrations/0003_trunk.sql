-- The SIP trunk to the provider (one row) and the destination prefixes no
-- call may reach through it (toll-fraud protection).

CREATE TABLE trunk (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    host            TEXT    NOT NULL DEFAULT '',
    port            INTEGER NOT NULL DEFAULT 5060 CHECK (port BETWEEN 1 AND 65535),
    transport       TEXT    NOT NULL DEFAULT 'udp' CHECK (transport IN ('udp', 'tcp')),
    username        TEXT    NOT NULL DEFAULT '',
    password        TEXT    NOT NULL DEFAULT '',
    register        INTEGER NOT NULL DEFAULT 0 CHECK (register IN (0, 1)),
    from_domain     TEXT    NOT NULL DEFAULT '',
    inbound_sources TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(inbound_sources)),
    updated_at      INTEGER NOT NULL
);

CREATE TABLE denied_prefixes (
    prefix     TEXT    PRIMARY KEY,
    note       TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
) WITHOUT ROWID;
