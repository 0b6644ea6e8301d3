-- Resident Services schema 13 (PostgreSQL): proof documents uploaded for an update (MOSIP 1.2.1's document
-- service, which its portal app uses), waiting for the update that takes them.
-- Keep in lock-step with ../sqlite/0013_update_upload.sql.

-- the file, its name, type and reference are sealed under the row id; the owner is the identity's
-- keyed token, never the UIN; housekeeping deletes what no update took within a day
CREATE TABLE update_upload (
    id             TEXT PRIMARY KEY,
    token_id       TEXT NOT NULL,
    transaction_id TEXT NOT NULL,
    category       TEXT NOT NULL,
    data           BYTEA NOT NULL,
    created_at     BIGINT NOT NULL
);
CREATE INDEX update_upload_owner ON update_upload (token_id, transaction_id);
CREATE INDEX update_upload_created ON update_upload (created_at);
