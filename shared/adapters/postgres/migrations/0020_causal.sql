-- Causal analysis (issue 5): outcomes per person and period, person attributes, analyses.
-- Employee ids here are pseudonyms (shared/domain/privacy.py), exactly as in employee_metrics.

-- outcome data (survey scores, attrition, review turnaround...): one value per person, period, metric
CREATE TABLE IF NOT EXISTS outcomes (
    employee     text NOT NULL,
    period       date NOT NULL,
    metric       text NOT NULL CHECK (metric ~ '^[a-z][a-z0-9_]{0,62}$'),
    value        double precision NOT NULL CHECK (value = value),  -- no NaN
    source       text NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (employee, period, metric)
);
CREATE INDEX IF NOT EXISTS outcomes_metric_period ON outcomes (metric, period);

-- slowly changing person attributes used as confounders
CREATE TABLE IF NOT EXISTS employee_attributes (
    employee      text PRIMARY KEY,
    tenure_years  double precision CHECK (tenure_years >= 0),
    role          text,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- one row per analysis; the result is written once (completions counts the transitions to
-- 'succeeded', which the guarded UPDATE in causal_store.py allows exactly once)
CREATE TABLE IF NOT EXISTS analyses (
    id            uuid PRIMARY KEY,
    spec          jsonb NOT NULL,
    status        text NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    progress      jsonb NOT NULL DEFAULT '{}'::jsonb,
    result        jsonb,
    provenance    jsonb,
    error         text,
    requested_by  text,
    workflow_id   text,
    attempts      integer NOT NULL DEFAULT 0,
    completions   integer NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now(),
    started_at    timestamptz,
    completed_at  timestamptz,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS analyses_created ON analyses (created_at DESC);
