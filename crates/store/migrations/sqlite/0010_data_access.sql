-- Resident Services schema 10 (SQLite): who used my data.
-- Keep in lock-step with ../postgres/0010_data_access.sql.

-- every read of a resident's personal data by anyone but the resident; kept as long as the audit log.
-- Who is in clear (kind and id: an operator's name, a partner's id) for the oversight query; what,
-- why, the accessor's display name and the channel are sealed (row id as associated data).
CREATE TABLE data_access (
    id            TEXT PRIMARY KEY,
    token_id      TEXT NOT NULL,
    accessed_at   INTEGER NOT NULL,
    accessor_kind TEXT NOT NULL,
    accessor_id   TEXT NOT NULL,
    detail        BLOB NOT NULL,
    read_status   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX data_access_token ON data_access (token_id, accessed_at);
CREATE INDEX data_access_accessor ON data_access (accessor_kind, accessor_id, accessed_at);

-- a resident who wants an email/SMS whenever an operator reads their data
CREATE TABLE data_access_notice (
    token_id   TEXT PRIMARY KEY,
    on_operator_read INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
