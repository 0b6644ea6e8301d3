-- Resident Services schema 16 (SQLite): a portal session keeps the UIN it opens, sealed with the data
-- key, so its pages can ask the ID Repository (MOSIP's, in integrated mode) for the identity rather
-- than read this tier's registry. A session started before this has none and is ended at its next
-- request (the resident logs in again).
-- Keep in lock-step with ../postgres/0016_session_uin.sql.

ALTER TABLE portal_session ADD COLUMN uin_sealed BLOB;
