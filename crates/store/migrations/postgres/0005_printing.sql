-- Resident Services schema 5 (PostgreSQL): the print queue. Keep in lock-step with ../sqlite/0005_printing.sql.

CREATE TABLE print_job (
    id          TEXT PRIMARY KEY,
    rid         TEXT NOT NULL UNIQUE,
    identity_id TEXT NOT NULL,
    token_id    TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    card_type   TEXT NOT NULL,
    -- NEW, ISSUED, PRINTING, IN_TRANSIT, DELIVERED, FAILED
    status      TEXT NOT NULL,
    partner_id  TEXT,
    tracking_id TEXT NOT NULL UNIQUE,
    carrier_ref TEXT,
    reason      TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX print_job_queue ON print_job (status, created_at);
CREATE INDEX print_job_partner ON print_job (partner_id, status);
