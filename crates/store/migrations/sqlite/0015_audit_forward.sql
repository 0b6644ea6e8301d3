-- Resident Services schema 15 (SQLite): how far the audit chain has been forwarded to MOSIP's audit
-- manager (integrated mode). One row: `seq`, the last record the audit manager took; `owner` and
-- `lease_until` (epoch ms), the replica forwarding now, so one forwards at a time, in order.
-- Keep in lock-step with ../postgres/0015_audit_forward.sql.

CREATE TABLE audit_forward (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    seq         INTEGER NOT NULL,
    owner       TEXT,
    lease_until INTEGER
);
