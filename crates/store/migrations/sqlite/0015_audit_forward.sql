-- Resident Services schema 15 (SQLite): how far the audit chain has been forwarded to MOSIP's audit
-- manager (integrated mode). One row; `seq` is the last record handed to it.
-- Keep in lock-step with ../postgres/0015_audit_forward.sql.

CREATE TABLE audit_forward (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL
);
