-- Resident Services schema 8 (PostgreSQL): security hardening.
-- Keep in lock-step with ../sqlite/0008_security.sql.

-- an OTP works only for whoever asked for it: the resident services ('resident') or one partner
-- ('partner:<id>'); the requester is also inside the OTP's keyed hash
ALTER TABLE otp_transaction ADD COLUMN requester TEXT NOT NULL DEFAULT 'resident';
CREATE INDEX otp_transaction_lookup ON otp_transaction (identity_hash, transaction_id, requester);
-- wrong answers to this OTP (MOSIP's IDA counts per OTP); the guard's failed_attempts now counts the
-- identity's wrong answers since window_start (a day), all OTPs together
ALTER TABLE otp_transaction ADD COLUMN failed_attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE otp_guard ADD COLUMN window_start BIGINT;

-- which demographic attributes a partner must present and match (JSON list); no row: the default
CREATE TABLE partner_auth_policy (
    partner_id TEXT PRIMARY KEY,
    attributes TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- per-client request counters (fixed windows), where every replica sees them
CREATE TABLE rate_counter (
    bucket       TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    hits         BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    PRIMARY KEY (bucket, window_start)
);
CREATE INDEX rate_counter_expiry ON rate_counter (expires_at);

-- the first audit record chained with the keyed HMAC (records before it keep their SHA-256 links):
-- the next one, set here so that no later writer can make the keyed chain start anywhere else
ALTER TABLE audit_head ADD COLUMN keyed_from BIGINT;
UPDATE audit_head SET keyed_from = seq + 1 WHERE id = 1;
