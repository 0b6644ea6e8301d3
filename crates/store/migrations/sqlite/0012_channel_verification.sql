-- Resident Services schema 12 (SQLite): which phone number and email address each resident verified.
-- Keep in lock-step with ../postgres/0012_channel_verification.sql.

-- one row per identity and channel: the value verified last, as a keyed hash (never the value), so a
-- number or address changed since is no longer verified
CREATE TABLE channel_verification (
    token_id    TEXT NOT NULL,
    channel     TEXT NOT NULL,
    value_hash  TEXT NOT NULL,
    verified_at INTEGER NOT NULL,
    PRIMARY KEY (token_id, channel)
);
