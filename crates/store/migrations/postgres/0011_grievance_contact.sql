-- Resident Services schema 11 (PostgreSQL): another way to reach a resident about a grievance.
-- Keep in lock-step with ../sqlite/0011_grievance_contact.sql.

-- the alternate email and phone a resident gave with the grievance (MOSIP 1.2.1's
-- alternateEmailId/alternatePhoneNo), sealed with the ticket id as associated data; NULL when none
ALTER TABLE grievance ADD COLUMN contact BYTEA;
