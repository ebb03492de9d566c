-- Team-level history: one row per team per refresh (members + sums, so means re-aggregate
-- exactly), and its hourly rollup. Team history reads come from here: a 90-day team series is
-- ~2,160 rows instead of ~43,000 employee-hour rows (measured: team 90-day p95 680 ms when
-- aggregated from the employee rollup). The minimum group size is applied on read (points
-- whose refreshes had fewer than k members are never shown), so changing k needs no rewrite.
-- TimescaleDB flavour: team_metrics is a hypertable (retention 90 d, compression after 7 d),
-- team_metrics_hourly a real-time continuous aggregate kept 2 years. Same names and columns
-- as the plain flavour. Not exercised on this machine (no TimescaleDB here).

CREATE TABLE IF NOT EXISTS team_metrics (
    time                        timestamptz NOT NULL,
    team                        text NOT NULL,
    members                     integer NOT NULL,
    sum_degree_in            double precision,
    sum_degree_out           double precision,
    sum_weighted_in          double precision,
    sum_weighted_out         double precision,
    sum_betweenness          double precision,
    sum_clustering           double precision,
    sum_cross_team_ratio     double precision,
    sum_after_hours_share    double precision,
    sum_meeting_hours        double precision,
    sum_network_size         double precision,
    sum_strong_ties          double precision,
    sum_diverse_ties         double precision,
    n_cross_team_ratio       bigint NOT NULL DEFAULT 0,
    n_after_hours_share      bigint NOT NULL DEFAULT 0,
    UNIQUE (team, time)
);
SELECT create_hypertable('team_metrics', 'time', chunk_time_interval => interval '7 days', if_not_exists => true);
ALTER TABLE team_metrics SET (timescaledb.compress, timescaledb.compress_segmentby = 'team',
                              timescaledb.compress_orderby = 'time DESC');
SELECT add_compression_policy('team_metrics', interval '7 days', if_not_exists => true);
SELECT add_retention_policy('team_metrics', interval '90 days', if_not_exists => true);

CREATE MATERIALIZED VIEW IF NOT EXISTS team_metrics_hourly
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(interval '1 hour', time) AS bucket, team,
       count(*) AS refreshes, min(members) AS members_min, sum(members) AS members_sum,
       sum(sum_degree_in) AS sum_degree_in, sum(sum_degree_out) AS sum_degree_out, sum(sum_weighted_in) AS sum_weighted_in, sum(sum_weighted_out) AS sum_weighted_out, sum(sum_betweenness) AS sum_betweenness, sum(sum_clustering) AS sum_clustering, sum(sum_cross_team_ratio) AS sum_cross_team_ratio, sum(sum_after_hours_share) AS sum_after_hours_share, sum(sum_meeting_hours) AS sum_meeting_hours, sum(sum_network_size) AS sum_network_size, sum(sum_strong_ties) AS sum_strong_ties, sum(sum_diverse_ties) AS sum_diverse_ties,
       sum(n_cross_team_ratio) AS n_cross_team_ratio, sum(n_after_hours_share) AS n_after_hours_share
  FROM team_metrics
 GROUP BY bucket, team
WITH NO DATA;
CREATE INDEX IF NOT EXISTS team_metrics_hourly_team_bucket ON team_metrics_hourly (team, bucket DESC);
SELECT add_continuous_aggregate_policy('team_metrics_hourly',
    start_offset => interval '3 days', end_offset => interval '1 hour',
    schedule_interval => interval '30 minutes', if_not_exists => true);
SELECT add_retention_policy('team_metrics_hourly', interval '2 years', if_not_exists => true);

CREATE OR REPLACE FUNCTION metrics_after_write_teams(at timestamptz) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    touched bigint;
BEGIN
    INSERT INTO team_metrics (time, team, members, sum_degree_in, sum_degree_out, sum_weighted_in, sum_weighted_out, sum_betweenness, sum_clustering, sum_cross_team_ratio, sum_after_hours_share, sum_meeting_hours, sum_network_size, sum_strong_ties, sum_diverse_ties, n_cross_team_ratio, n_after_hours_share)
    SELECT at, team, count(*), sum(degree_in), sum(degree_out), sum(weighted_in), sum(weighted_out), sum(betweenness), sum(clustering), sum(cross_team_ratio), sum(after_hours_share), sum(meeting_hours), sum(network_size), sum(strong_ties), sum(diverse_ties), count(cross_team_ratio), count(after_hours_share)
      FROM employee_metrics
     WHERE time = at AND team IS NOT NULL
     GROUP BY team
    ON CONFLICT (team, time) DO NOTHING;
    GET DIAGNOSTICS touched = ROW_COUNT;
    RETURN touched;
END $$;

CREATE OR REPLACE FUNCTION metrics_retention_teams(now_at timestamptz, raw_keep interval, rollup_keep interval)
RETURNS bigint
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM drop_chunks('team_metrics', older_than => now_at - raw_keep);
    PERFORM drop_chunks('team_metrics_hourly', older_than => now_at - rollup_keep);
    RETURN 0;
END $$;
