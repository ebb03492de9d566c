-- Bookkeeping of metric refreshes (one row per attempt, skipped ones included) and the
-- summaries each successful refresh materialises for the read side (top bridges, team
-- summaries with small teams withheld, graph stats): the API reads these, never computes.

CREATE TABLE IF NOT EXISTS metrics_refresh_runs (
    run_id          bigserial PRIMARY KEY,
    trigger         text NOT NULL,
    status          text NOT NULL CHECK (status IN ('running', 'succeeded', 'skipped', 'failed')),
    skipped_reason  text,
    started_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    fingerprint     text,
    people          integer,
    ties            integer,
    mode            text CHECK (mode IN ('exact', 'sampled')),
    pivots          integer,
    snapshot_ms     double precision,
    compute_ms      double precision,
    writeback_ms    double precision,
    history_ms      double precision,
    duration_ms     double precision,
    error           text
);
CREATE INDEX IF NOT EXISTS metrics_refresh_runs_succeeded
    ON metrics_refresh_runs (finished_at DESC) WHERE status = 'succeeded';
CREATE INDEX IF NOT EXISTS metrics_refresh_runs_started ON metrics_refresh_runs (started_at DESC);

CREATE TABLE IF NOT EXISTS metrics_summaries (
    run_id       bigint PRIMARY KEY REFERENCES metrics_refresh_runs (run_id) ON DELETE CASCADE,
    computed_at  timestamptz NOT NULL,
    graph        jsonb NOT NULL,
    bridges      jsonb NOT NULL,
    teams        jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS metrics_summaries_computed_at ON metrics_summaries (computed_at DESC);
