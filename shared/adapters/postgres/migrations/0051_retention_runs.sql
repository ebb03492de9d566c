-- Retention runs (issue 16).
-- retention_runs: one row per run of the retention job (dry runs included) with its report.
CREATE TABLE IF NOT EXISTS retention_runs (
    id           bigserial PRIMARY KEY,
    dry_run      boolean NOT NULL,
    now_at       timestamptz NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at  timestamptz,
    report       jsonb NOT NULL DEFAULT '{}'::jsonb
);
-- what the retention job deletes by age
CREATE INDEX IF NOT EXISTS outcomes_recorded_at ON outcomes (recorded_at);
CREATE INDEX IF NOT EXISTS employee_attributes_updated_at ON employee_attributes (updated_at);
