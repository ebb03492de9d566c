-- Erasures (issue 16): one row per erasure of one person. The subject (a pseudonym) is held only
-- while the erasure runs and set to NULL when it completes, so neither this table nor the
-- workflow's history (which carries only the id) keeps who was erased.
CREATE TABLE IF NOT EXISTS erasures (
    id            uuid PRIMARY KEY,
    subject       text,
    status        text NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    requested_by  text NOT NULL,
    workflow_id   text,
    report        jsonb NOT NULL DEFAULT '{}'::jsonb,
    error         text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    completed_at  timestamptz
);
CREATE INDEX IF NOT EXISTS erasures_running ON erasures (subject) WHERE subject IS NOT NULL;
