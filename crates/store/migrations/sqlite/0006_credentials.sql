-- Resident Services schema 6 (SQLite): partner policies and credential requests.
-- Keep in lock-step with ../postgres/0006_credentials.sql.

CREATE TABLE partner_policy (
    partner_id      TEXT NOT NULL,
    credential_type TEXT NOT NULL,
    policy_id       TEXT NOT NULL UNIQUE,
    policy_name     TEXT NOT NULL,
    -- attribute names, comma-separated
    attributes      TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (partner_id, credential_type)
);

CREATE TABLE credential_request (
    request_id      TEXT PRIMARY KEY,
    identity_id     TEXT NOT NULL,
    token_id        TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    partner_id      TEXT NOT NULL,
    credential_type TEXT NOT NULL,
    -- NEW, ISSUED, FAILED, CANCELLED
    status          TEXT NOT NULL,
    attributes      TEXT NOT NULL,
    encrypt         INTEGER NOT NULL,
    content_type    TEXT,
    -- the issued credential, sealed
    data            BLOB,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX credential_request_token ON credential_request (token_id, created_at);
