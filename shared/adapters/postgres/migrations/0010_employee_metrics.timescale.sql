-- Per-employee metric history, TimescaleDB flavour (chosen when CREATE EXTENSION timescaledb
-- succeeds). Same table, columns, rollup names and functions as the plain flavour, so the
-- Python code does not branch:
--   employee_metrics          hypertable (1-day chunks), raw retention 90 days, compressed
--                             after 7 days (segment by employee, newest first);
--   employee_metrics_hourly   continuous aggregate (hourly sums + counts per employee), real
--                             time (materialized_only = false), refreshed every 30 minutes,
--                             kept 2 years;
--   metrics_ensure_partition / metrics_after_write: no-ops (chunks and the aggregate manage
--                             themselves); metrics_retention: drops chunks now (the policies
--                             do it anyway) so the retention job behaves alike on both.
-- Not exercised on this machine (no TimescaleDB package reachable); kept in step with the
-- plain flavour by review. WITH NO DATA lets the aggregate be created inside the migration's
-- transaction.

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
);
SELECT create_hypertable('employee_metrics', 'time', chunk_time_interval => interval '1 day', if_not_exists => true);

CREATE INDEX IF NOT EXISTS employee_metrics_employee_time ON employee_metrics (employee, time DESC);
CREATE INDEX IF NOT EXISTS employee_metrics_team_time ON employee_metrics (team, time DESC);

ALTER TABLE employee_metrics SET (
    timescaledb.compress,
    timescaledb.compress_segmentby = 'employee',
    timescaledb.compress_orderby = 'time DESC'
);
SELECT add_compression_policy('employee_metrics', interval '7 days', if_not_exists => true);
SELECT add_retention_policy('employee_metrics', interval '90 days', if_not_exists => true);

CREATE MATERIALIZED VIEW IF NOT EXISTS employee_metrics_hourly
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(interval '1 hour', time) AS bucket,
       employee,
       max(team) AS team,
       count(*) AS n,
       sum(degree_in)::double precision AS sum_degree_in,
       sum(degree_out)::double precision AS sum_degree_out,
       sum(weighted_in) AS sum_weighted_in,
       sum(weighted_out) AS sum_weighted_out,
       sum(betweenness) AS sum_betweenness,
       sum(clustering) AS sum_clustering,
       sum(cross_team_ratio) AS sum_cross_team_ratio,
       count(cross_team_ratio) AS n_cross_team_ratio,
       sum(after_hours_share) AS sum_after_hours_share,
       count(after_hours_share) AS n_after_hours_share,
       sum(meeting_hours) AS sum_meeting_hours,
       sum(network_size)::double precision AS sum_network_size,
       sum(strong_ties)::double precision AS sum_strong_ties,
       sum(diverse_ties)::double precision AS sum_diverse_ties,
       max(betweenness) AS max_betweenness
  FROM employee_metrics
 GROUP BY bucket, employee
WITH NO DATA;

CREATE INDEX IF NOT EXISTS employee_metrics_hourly_employee_bucket ON employee_metrics_hourly (employee, bucket DESC);
CREATE INDEX IF NOT EXISTS employee_metrics_hourly_team_bucket ON employee_metrics_hourly (team, bucket DESC);

SELECT add_continuous_aggregate_policy('employee_metrics_hourly',
    start_offset => interval '3 days', end_offset => interval '1 hour',
    schedule_interval => interval '30 minutes', if_not_exists => true);
SELECT add_retention_policy('employee_metrics_hourly', interval '2 years', if_not_exists => true);

CREATE OR REPLACE FUNCTION metrics_ensure_partition(at timestamptz) RETURNS text
LANGUAGE sql AS $$ SELECT ''::text $$;

CREATE OR REPLACE FUNCTION metrics_after_write(at timestamptz) RETURNS bigint
LANGUAGE sql AS $$ SELECT 0::bigint $$;

CREATE OR REPLACE FUNCTION metrics_retention(now_at timestamptz, raw_keep interval, rollup_keep interval)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    dropped integer := 0;
BEGIN
    SELECT count(*) INTO dropped FROM drop_chunks('employee_metrics', older_than => now_at - raw_keep);
    PERFORM drop_chunks('employee_metrics_hourly', older_than => now_at - rollup_keep);
    RETURN dropped;
END $$;
