-- Resident Services schema 1 (SQLite). Keep in lock-step with ../postgres/0001_init.sql.
-- Portable subset: TEXT ids, INTEGER epoch milliseconds, INTEGER 0/1 flags, JSON as TEXT, BLOB ciphertext.

CREATE TABLE uin_registry (
    uin_hash     TEXT PRIMARY KEY,
    status       TEXT NOT NULL,
    allocated_at INTEGER NOT NULL
);

CREATE TABLE identity (
    id         TEXT PRIMARY KEY,
    uin_hash   TEXT NOT NULL UNIQUE,
    token      TEXT NOT NULL UNIQUE,
    source_key TEXT NOT NULL UNIQUE,
    status     TEXT NOT NULL,
    version    INTEGER NOT NULL,
    data       BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE identity_document (
    identity_id TEXT NOT NULL,
    category    TEXT NOT NULL,
    format      TEXT NOT NULL,
    content     BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (identity_id, category)
);

CREATE TABLE registration (
    rid                     TEXT PRIMARY KEY,
    registration_type       TEXT NOT NULL,
    status_code             TEXT,
    latest_transaction_type TEXT,
    latest_transaction_at   INTEGER,
    last_success_stage      TEXT,
    retry_count             INTEGER NOT NULL,
    created_at              INTEGER NOT NULL,
    updated_at              INTEGER NOT NULL
);

CREATE TABLE registration_stage (
    rid              TEXT NOT NULL,
    seq              INTEGER NOT NULL,
    transaction_type TEXT NOT NULL,
    status_code      TEXT NOT NULL,
    comment          TEXT NOT NULL,
    at               INTEGER NOT NULL,
    PRIMARY KEY (rid, seq)
);

CREATE TABLE rid_sequence (
    centre  TEXT NOT NULL,
    machine TEXT NOT NULL,
    value   INTEGER NOT NULL,
    PRIMARY KEY (centre, machine)
);

CREATE TABLE audit_head (
    id        INTEGER PRIMARY KEY,
    seq       INTEGER NOT NULL,
    last_hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, last_hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE audit_log (
    seq               INTEGER PRIMARY KEY,
    event_id          TEXT NOT NULL,
    event_name        TEXT NOT NULL,
    event_type        TEXT NOT NULL,
    action_at         INTEGER NOT NULL,
    host_name         TEXT NOT NULL,
    host_ip           TEXT NOT NULL,
    app_id            TEXT NOT NULL,
    app_name          TEXT NOT NULL,
    session_user_id   TEXT NOT NULL,
    session_user_name TEXT NOT NULL,
    module_id         TEXT NOT NULL,
    module_name       TEXT NOT NULL,
    ref_id            TEXT,
    ref_id_type       TEXT,
    description       TEXT NOT NULL,
    created_by        TEXT NOT NULL,
    request_id        TEXT,
    prev_hash         TEXT NOT NULL,
    hash              TEXT NOT NULL
);

CREATE TABLE resident_transaction (
    event_id          TEXT PRIMARY KEY,
    token_id          TEXT NOT NULL,
    request_type_code TEXT NOT NULL,
    request_summary   TEXT NOT NULL,
    status_code       TEXT NOT NULL,
    status_comment    TEXT,
    request_trn_id    TEXT,
    ref_id_type       TEXT,
    ref_id            TEXT,
    lang_code         TEXT,
    aid               TEXT,
    request_dtimes    INTEGER NOT NULL,
    upd_dtimes        INTEGER NOT NULL,
    read_status       INTEGER NOT NULL DEFAULT 0,
    pinned_status     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX resident_transaction_token ON resident_transaction (token_id, request_dtimes);

CREATE TABLE job (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL,
    status       TEXT NOT NULL,
    run_after    INTEGER NOT NULL,
    attempts     INTEGER NOT NULL,
    max_attempts INTEGER NOT NULL,
    locked_by    TEXT,
    locked_until INTEGER,
    last_error   TEXT,
    created_at   INTEGER NOT NULL
);
CREATE INDEX job_ready ON job (status, run_after);
