-- Resident Services schema 14 (SQLite): the embedded platform's clients (MOSIP's auth manager's
-- client id and secret key), which trade their secret for a short-lived token.
-- Keep in lock-step with ../postgres/0014_platform_client.sql.

-- the secret key only as a SHA-256 digest (it is 256 random bits); roles as a comma list
CREATE TABLE platform_client (
    id            TEXT PRIMARY KEY,
    app_id        TEXT NOT NULL,
    roles         TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL,
    active        INTEGER NOT NULL,
    created_at    INTEGER NOT NULL
);
