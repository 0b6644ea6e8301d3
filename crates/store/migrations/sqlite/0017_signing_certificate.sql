-- Resident Services schema 17 (SQLite): every signing certificate a MOSIP key manager signed residents'
-- cards with, as this tier first saw it (its SHA-256 thumbprint, the PEM, when). All stay published
-- in /.well-known/jwks.json, so a card keeps verifying after the key manager renews its key, and
-- the key set does not depend on the key manager answering.
-- Keep in lock-step with ../postgres/0017_signing_certificate.sql.

CREATE TABLE signing_certificate (
    thumbprint TEXT PRIMARY KEY,
    pem        TEXT NOT NULL,
    first_seen INTEGER NOT NULL
);
