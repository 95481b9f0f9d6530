-- Message-waiting subscriptions (RFC 3265/3842): a phone's SUBSCRIBE to
-- its user's mailbox. Kept here, not in memory, so that any engine can
-- notify any phone; expired rows are swept by an idempotent query.

CREATE TABLE mwi_subscriptions (
    phone_id   INTEGER NOT NULL REFERENCES phones (id) ON DELETE CASCADE,
    call_id    TEXT    NOT NULL,
    from_tag   TEXT    NOT NULL, -- the phone's tag
    to_tag     TEXT    NOT NULL, -- ours
    contact    TEXT    NOT NULL, -- where NOTIFYs go (the phone's Contact)
    source     TEXT    NOT NULL, -- host:port the SUBSCRIBE came from
    transport  TEXT    NOT NULL,
    route      TEXT    NOT NULL DEFAULT '', -- Record-Route of the SUBSCRIBE, for the NOTIFYs' Route set
    cseq       INTEGER NOT NULL DEFAULT 0,  -- of our last NOTIFY
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (phone_id, call_id, from_tag)
) WITHOUT ROWID;

CREATE INDEX mwi_subscriptions_expiry ON mwi_subscriptions (expires_at);
