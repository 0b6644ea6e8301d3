-- Resident Services schema 7 (PostgreSQL): Resident Portal sessions (any replica can serve any request).
-- Keep in lock-step with ../sqlite/0007_portal.sql.

CREATE TABLE portal_session (
    -- SHA-256 of the cookie's random id: a copy of this table opens no session
    id_hash      TEXT PRIMARY KEY,
    identity_id  TEXT NOT NULL,
    token_id     TEXT NOT NULL,
    id_type      TEXT NOT NULL,
    csrf         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX portal_session_expiry ON portal_session (expires_at);

-- a form half-way through (the update of one's details before "check your answers"), sealed
CREATE TABLE portal_draft (
    session_hash TEXT PRIMARY KEY,
    data         BYTEA NOT NULL,
    created_at   BIGINT NOT NULL
);

-- a resident's grievance about one of their requests; the message is sealed
CREATE TABLE grievance (
    ticket_id  TEXT PRIMARY KEY,
    token_id   TEXT NOT NULL,
    event_id   TEXT NOT NULL,
    message    BYTEA NOT NULL,
    status     TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX grievance_token ON grievance (token_id, created_at);
