-- Team membership comes from the HR attributes store (issue 11): employee_attributes.team is
-- authoritative; an event's team hint only fills in for people HR does not know, and never
-- replaces a team already recorded (shared/adapters/postgres/ledger.py).
ALTER TABLE employee_attributes ADD COLUMN IF NOT EXISTS team text CHECK (team IS NULL OR length(team) BETWEEN 1 AND 64);
