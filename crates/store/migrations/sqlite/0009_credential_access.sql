-- Resident Services schema 9 (SQLite): credential requests reached by their request id alone.
-- Keep in lock-step with ../postgres/0009_credential_access.sql.

-- status may now also be PRINTED (a print partner's card, rendered by the embedded print service).
-- when the request id alone downloaded the artefact: it can once
ALTER TABLE credential_request ADD COLUMN fetched_by_request_id_at INTEGER;
