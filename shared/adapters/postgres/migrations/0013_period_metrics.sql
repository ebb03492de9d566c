-- Networks over time (issue 13): each closed period's own graph and metrics.
-- employee_period_metrics: one row per person per closed period (week or month), the metrics
-- of that period's graph (docs/metrics.md). team_period_metrics: one row per team per period;
-- teams under the minimum group size at write time keep their member count and no figures.
-- period_graphs: the period's graph stats, the betweenness mode and its error bound, and its
-- top bridges (for bridge turnover). period_backfill_runs: the back-fill workflow's progress.
-- Rewriting a period replaces its rows (a back-fill can be re-run).

CREATE TABLE IF NOT EXISTS employee_period_metrics (
    period_kind        text NOT NULL CHECK (period_kind IN ('week', 'month')),
    period_start       date NOT NULL,
    employee           text NOT NULL,
    team               text,
    degree_in          integer NOT NULL,
    degree_out         integer NOT NULL,
    weighted_in        double precision NOT NULL,
    weighted_out       double precision NOT NULL,
    betweenness        double precision NOT NULL,
    clustering         double precision NOT NULL,
    cross_team_ratio   double precision,
    after_hours_share  double precision,
    meeting_hours      double precision NOT NULL,
    network_size       integer NOT NULL,
    strong_ties        integer NOT NULL,
    diverse_ties       integer NOT NULL,
    PRIMARY KEY (period_kind, period_start, employee)
);
CREATE INDEX IF NOT EXISTS employee_period_metrics_employee
    ON employee_period_metrics (employee, period_kind, period_start);

CREATE TABLE IF NOT EXISTS team_period_metrics (
    period_kind       text NOT NULL CHECK (period_kind IN ('week', 'month')),
    period_start      date NOT NULL,
    team              text NOT NULL,
    members           integer NOT NULL,
    withheld          boolean NOT NULL,
    cross_team_ratio  double precision,
    silo_index        double precision,
    density           double precision,
    load_index        double precision,
    PRIMARY KEY (period_kind, period_start, team),
    CHECK (NOT withheld OR (cross_team_ratio IS NULL AND silo_index IS NULL AND density IS NULL
                            AND load_index IS NULL))
);
CREATE INDEX IF NOT EXISTS team_period_metrics_team ON team_period_metrics (team, period_kind, period_start);

CREATE TABLE IF NOT EXISTS period_graphs (
    period_kind   text NOT NULL CHECK (period_kind IN ('week', 'month')),
    period_start  date NOT NULL,
    period_end    date NOT NULL,
    computed_at   timestamptz NOT NULL DEFAULT now(),
    people        integer NOT NULL,
    ties          integer NOT NULL,
    dropped_pairs integer NOT NULL,
    mode          text NOT NULL CHECK (mode IN ('exact', 'sampled')),
    pivots        integer,
    epsilon       double precision NOT NULL,
    delta         double precision NOT NULL,
    bridges       jsonb NOT NULL,
    PRIMARY KEY (period_kind, period_start)
);

CREATE TABLE IF NOT EXISTS period_backfill_runs (
    run_id       bigserial PRIMARY KEY,
    period_kind  text NOT NULL CHECK (period_kind IN ('week', 'month')),
    first_start  date NOT NULL,
    last_start   date NOT NULL,
    total        integer NOT NULL,
    done         integer NOT NULL DEFAULT 0,
    status       text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    error        text
);
