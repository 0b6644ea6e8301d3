-- Resident Services schema 4 (PostgreSQL): resident update requests and their pipeline, identity
-- versions, per-field update counts, and the machine keys that sign packets.
-- Keep in lock-step with ../sqlite/0004_updates.sql.

CREATE TABLE resident_update (
    rid                TEXT PRIMARY KEY,
    identity_id        TEXT NOT NULL,
    token_id           TEXT NOT NULL,
    event_id           TEXT NOT NULL,
    stage              TEXT NOT NULL,
    -- 1 until the update is DONE or REJECTED; at most one per identity (index below)
    in_progress        INTEGER NOT NULL,
    -- names of the changed fields, comma-separated (no values: those are in the packet)
    fields             TEXT NOT NULL,
    needs_verification INTEGER NOT NULL,
    reason             TEXT,
    packet_key         TEXT NOT NULL,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);
CREATE UNIQUE INDEX resident_update_one_in_progress ON resident_update (identity_id) WHERE in_progress = 1;
CREATE INDEX resident_update_stage ON resident_update (stage, created_at);

-- earlier versions of an identity, sealed like the identity itself
CREATE TABLE identity_version (
    identity_id TEXT NOT NULL,
    version     BIGINT NOT NULL,
    data        BYTEA NOT NULL,
    replaced_by TEXT,
    replaced_at BIGINT NOT NULL,
    PRIMARY KEY (identity_id, version)
);

CREATE TABLE identity_document_version (
    identity_id TEXT NOT NULL,
    version     BIGINT NOT NULL,
    category    TEXT NOT NULL,
    format      TEXT NOT NULL,
    content     BYTEA NOT NULL,
    PRIMARY KEY (identity_id, version, category)
);

CREATE TABLE identity_update_count (
    identity_id TEXT NOT NULL,
    field       TEXT NOT NULL,
    updates     BIGINT NOT NULL,
    PRIMARY KEY (identity_id, field)
);

CREATE TABLE machine_key (
    key_id     TEXT PRIMARY KEY,
    public_key BYTEA NOT NULL,
    machine    TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
