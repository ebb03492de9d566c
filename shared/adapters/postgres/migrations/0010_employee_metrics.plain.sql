-- Per-employee metric history, plain PostgreSQL flavour (no TimescaleDB here).
-- employee_metrics: one row per employee per refresh, natively partitioned by day on `time`;
--   metrics_ensure_partition() creates a day's partition before a write, metrics_retention()
--   drops partitions past raw retention (and deletes older rows in the boundary partition).
-- employee_metrics_hourly: the hourly rollup (sums + counts, so averages re-aggregate exactly
--   into days), maintained incrementally by metrics_after_write() in the writer's transaction,
--   kept for the rollup retention (2 years by default).
-- The TimescaleDB flavour (0010_employee_metrics.timescale.sql) defines the same tables,
-- columns and functions, so the Python code is identical for both.

CREATE TABLE IF NOT EXISTS employee_metrics (
    time               timestamptz NOT NULL,
    employee           text NOT NULL,
    team               text,
    degree_in          integer,
    degree_out         integer,
    weighted_in        double precision,
    weighted_out       double precision,
    betweenness        double precision,
    clustering         double precision,
    cross_team_ratio   double precision,
    after_hours_share  double precision,
    meeting_hours      double precision,
    network_size       integer,
    strong_ties        integer,
    diverse_ties       integer
) PARTITION BY RANGE (time);

-- the common queries: one employee over a range; one team over a range; everyone at one time
CREATE INDEX IF NOT EXISTS employee_metrics_employee_time ON employee_metrics (employee, time DESC);
CREATE INDEX IF NOT EXISTS employee_metrics_team_time ON employee_metrics (team, time DESC);
CREATE INDEX IF NOT EXISTS employee_metrics_time ON employee_metrics (time DESC);

CREATE TABLE IF NOT EXISTS employee_metrics_hourly (
    bucket                  timestamptz NOT NULL,
    employee                text NOT NULL,
    team                    text,
    n                       bigint NOT NULL,
    sum_degree_in           double precision,
    sum_degree_out          double precision,
    sum_weighted_in         double precision,
    sum_weighted_out        double precision,
    sum_betweenness         double precision,
    sum_clustering          double precision,
    sum_cross_team_ratio    double precision,
    n_cross_team_ratio      bigint NOT NULL DEFAULT 0,
    sum_after_hours_share   double precision,
    n_after_hours_share     bigint NOT NULL DEFAULT 0,
    sum_meeting_hours       double precision,
    sum_network_size        double precision,
    sum_strong_ties         double precision,
    sum_diverse_ties        double precision,
    max_betweenness         double precision,
    PRIMARY KEY (employee, bucket)
);
CREATE INDEX IF NOT EXISTS employee_metrics_hourly_team_bucket ON employee_metrics_hourly (team, bucket DESC);
CREATE INDEX IF NOT EXISTS employee_metrics_hourly_bucket ON employee_metrics_hourly (bucket DESC);

-- create the daily partition holding `at` (idempotent; concurrent callers are serialised)
CREATE OR REPLACE FUNCTION metrics_ensure_partition(at timestamptz) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    day_start timestamptz := date_trunc('day', at, 'UTC');
    name text := 'employee_metrics_p' || to_char(day_start AT TIME ZONE 'UTC', 'YYYYMMDD');
BEGIN
    IF to_regclass(name) IS NULL THEN
        PERFORM pg_advisory_xact_lock(7426010);
        IF to_regclass(name) IS NULL THEN
            EXECUTE format(
                'CREATE TABLE %I PARTITION OF employee_metrics FOR VALUES FROM (%L) TO (%L)',
                name, day_start, day_start + interval '1 day');
        END IF;
    END IF;
    RETURN name;
END $$;

-- fold the rows written at exactly `at` into the hourly rollup (called once per write, in the
-- same transaction as the COPY, so the rollup never double counts nor misses a write)
CREATE OR REPLACE FUNCTION metrics_after_write(at timestamptz) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    touched bigint;
BEGIN
    INSERT INTO employee_metrics_hourly AS h (
        bucket, employee, team, n,
        sum_degree_in, sum_degree_out, sum_weighted_in, sum_weighted_out, sum_betweenness,
        sum_clustering, sum_cross_team_ratio, n_cross_team_ratio, sum_after_hours_share,
        n_after_hours_share, sum_meeting_hours, sum_network_size, sum_strong_ties,
        sum_diverse_ties, max_betweenness)
    SELECT date_trunc('hour', time, 'UTC'), employee, max(team), count(*),
           sum(degree_in), sum(degree_out), sum(weighted_in), sum(weighted_out), sum(betweenness),
           sum(clustering), sum(cross_team_ratio), count(cross_team_ratio), sum(after_hours_share),
           count(after_hours_share), sum(meeting_hours), sum(network_size), sum(strong_ties),
           sum(diverse_ties), max(betweenness)
      FROM employee_metrics
     WHERE time = at
     GROUP BY 1, 2
    ON CONFLICT (employee, bucket) DO UPDATE SET
        team = excluded.team,
        n = h.n + excluded.n,
        sum_degree_in = h.sum_degree_in + excluded.sum_degree_in,
        sum_degree_out = h.sum_degree_out + excluded.sum_degree_out,
        sum_weighted_in = h.sum_weighted_in + excluded.sum_weighted_in,
        sum_weighted_out = h.sum_weighted_out + excluded.sum_weighted_out,
        sum_betweenness = h.sum_betweenness + excluded.sum_betweenness,
        sum_clustering = h.sum_clustering + excluded.sum_clustering,
        sum_cross_team_ratio = coalesce(h.sum_cross_team_ratio, 0) + coalesce(excluded.sum_cross_team_ratio, 0),
        n_cross_team_ratio = h.n_cross_team_ratio + excluded.n_cross_team_ratio,
        sum_after_hours_share = coalesce(h.sum_after_hours_share, 0) + coalesce(excluded.sum_after_hours_share, 0),
        n_after_hours_share = h.n_after_hours_share + excluded.n_after_hours_share,
        sum_meeting_hours = h.sum_meeting_hours + excluded.sum_meeting_hours,
        sum_network_size = h.sum_network_size + excluded.sum_network_size,
        sum_strong_ties = h.sum_strong_ties + excluded.sum_strong_ties,
        sum_diverse_ties = h.sum_diverse_ties + excluded.sum_diverse_ties,
        max_betweenness = greatest(h.max_betweenness, excluded.max_betweenness);
    GET DIAGNOSTICS touched = ROW_COUNT;
    RETURN touched;
END $$;

-- retention: drop whole daily partitions older than raw_keep, delete older raw rows left in the
-- boundary partition, delete rollup rows older than rollup_keep. Returns the partitions dropped.
CREATE OR REPLACE FUNCTION metrics_retention(now_at timestamptz, raw_keep interval, rollup_keep interval)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    cutoff timestamptz := now_at - raw_keep;
    part record;
    dropped integer := 0;
BEGIN
    FOR part IN
        SELECT c.relname AS name,
               (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']+)''\)'))[1]::timestamptz AS upper_bound
          FROM pg_inherits i
          JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'employee_metrics'::regclass
    LOOP
        IF part.upper_bound <= cutoff THEN
            EXECUTE format('DROP TABLE %I', part.name);
            dropped := dropped + 1;
        END IF;
    END LOOP;
    DELETE FROM employee_metrics WHERE time < cutoff;
    DELETE FROM employee_metrics_hourly WHERE bucket < now_at - rollup_keep;
    RETURN dropped;
END $$;
