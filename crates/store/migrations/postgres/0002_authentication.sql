-- Resident Services schema 2 (PostgreSQL): OTPs, VIDs, auth-type locks, authentication transactions.
-- Keep in lock-step with ../sqlite/0002_authentication.sql.

-- One row per OTP sent. The OTP itself is never stored: otp_hash is a keyed hash bound to the
-- identity and the transaction id.
CREATE TABLE otp_transaction (
    id             TEXT PRIMARY KEY,
    identity_hash  TEXT NOT NULL,
    transaction_id TEXT NOT NULL,
    otp_hash       TEXT NOT NULL,
    channels       TEXT NOT NULL,
    status         TEXT NOT NULL,
    generated_at   BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL
);
CREATE INDEX otp_transaction_identity ON otp_transaction (identity_hash, generated_at);

-- Consecutive failed validations per identity, and the freeze they lead to.
CREATE TABLE otp_guard (
    identity_hash   TEXT PRIMARY KEY,
    failed_attempts BIGINT NOT NULL,
    frozen_until    BIGINT
);

CREATE TABLE vid (
    vid_hash           TEXT PRIMARY KEY,
    identity_id        TEXT NOT NULL,
    vid_type           TEXT NOT NULL,
    status             TEXT NOT NULL,
    data               BYTEA NOT NULL,
    created_at         BIGINT NOT NULL,
    expires_at         BIGINT,
    transactions_left  BIGINT,
    updated_at         BIGINT NOT NULL
);
CREATE INDEX vid_identity ON vid (identity_id, status);

CREATE TABLE auth_lock (
    identity_id  TEXT NOT NULL,
    auth_type    TEXT NOT NULL,
    locked       BIGINT NOT NULL,
    unlock_until BIGINT,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (identity_id, auth_type)
);

CREATE TABLE auth_transaction (
    id              TEXT PRIMARY KEY,
    token_id        TEXT NOT NULL,
    request_at      BIGINT NOT NULL,
    auth_type_code  TEXT NOT NULL,
    status_code     TEXT NOT NULL,
    status_comment  TEXT NOT NULL,
    ref_id_type     TEXT NOT NULL,
    entity_name     TEXT NOT NULL,
    transaction_id  TEXT NOT NULL,
    response_code   TEXT NOT NULL
);
CREATE INDEX auth_transaction_token ON auth_transaction (token_id, request_at);
