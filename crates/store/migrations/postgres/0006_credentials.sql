-- Resident Services schema 6 (PostgreSQL): partner policies and credential requests.
-- Keep in lock-step with ../sqlite/0006_credentials.sql.

CREATE TABLE partner_policy (
    partner_id      TEXT NOT NULL,
    credential_type TEXT NOT NULL,
    policy_id       TEXT NOT NULL UNIQUE,
    policy_name     TEXT NOT NULL,
    -- attribute names, comma-separated
    attributes      TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
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
    data            BYTEA,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX credential_request_token ON credential_request (token_id, created_at);
