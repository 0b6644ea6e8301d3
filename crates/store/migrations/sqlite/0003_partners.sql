-- Resident Services schema 3 (SQLite): partners (relying parties) registered by an operator.
-- Keep in lock-step with ../postgres/0003_partners.sql.

CREATE TABLE partner (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    partner_type TEXT NOT NULL,
    api_key_hash TEXT NOT NULL,
    status       TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);
