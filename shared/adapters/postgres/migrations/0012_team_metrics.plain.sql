-- Team-level history: one row per team per refresh (members + sums, so means re-aggregate
-- exactly), and its hourly rollup. Team history reads come from here: a 90-day team series is
-- ~2,160 rows instead of ~43,000 employee-hour rows (measured: team 90-day p95 680 ms when
-- aggregated from the employee rollup). The minimum group size is applied on read (points
-- whose refreshes had fewer than k members are never shown), so changing k needs no rewrite.
-- Plain PostgreSQL flavour: tables maintained by metrics_after_write_teams() in the writer's
-- transaction; metrics_retention_teams() applies the same retention as employee_metrics.

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
    PRIMARY KEY (team, time)
);
CREATE INDEX IF NOT EXISTS team_metrics_time ON team_metrics (time);

CREATE TABLE IF NOT EXISTS team_metrics_hourly (
    bucket                      timestamptz NOT NULL,
    team                        text NOT NULL,
    refreshes                   bigint NOT NULL,
    members_min                 integer NOT NULL,
    members_sum                 bigint NOT NULL,
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
    PRIMARY KEY (team, bucket)
);
CREATE INDEX IF NOT EXISTS team_metrics_hourly_bucket ON team_metrics_hourly (bucket);

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

    INSERT INTO team_metrics_hourly AS h (bucket, team, refreshes, members_min, members_sum, sum_degree_in, sum_degree_out, sum_weighted_in, sum_weighted_out, sum_betweenness, sum_clustering, sum_cross_team_ratio, sum_after_hours_share, sum_meeting_hours, sum_network_size, sum_strong_ties, sum_diverse_ties, n_cross_team_ratio, n_after_hours_share)
    SELECT date_trunc('hour', time, 'UTC'), team, count(*), min(members), sum(members),
           sum(sum_degree_in), sum(sum_degree_out), sum(sum_weighted_in), sum(sum_weighted_out), sum(sum_betweenness), sum(sum_clustering), sum(sum_cross_team_ratio), sum(sum_after_hours_share), sum(sum_meeting_hours), sum(sum_network_size), sum(sum_strong_ties), sum(sum_diverse_ties), sum(n_cross_team_ratio), sum(n_after_hours_share)
      FROM team_metrics
     WHERE time = at
     GROUP BY 1, 2
    ON CONFLICT (team, bucket) DO UPDATE SET
        refreshes = h.refreshes + excluded.refreshes,
        members_min = least(h.members_min, excluded.members_min),
        members_sum = h.members_sum + excluded.members_sum,
        sum_degree_in = coalesce(h.sum_degree_in, 0) + coalesce(excluded.sum_degree_in, 0),
        sum_degree_out = coalesce(h.sum_degree_out, 0) + coalesce(excluded.sum_degree_out, 0),
        sum_weighted_in = coalesce(h.sum_weighted_in, 0) + coalesce(excluded.sum_weighted_in, 0),
        sum_weighted_out = coalesce(h.sum_weighted_out, 0) + coalesce(excluded.sum_weighted_out, 0),
        sum_betweenness = coalesce(h.sum_betweenness, 0) + coalesce(excluded.sum_betweenness, 0),
        sum_clustering = coalesce(h.sum_clustering, 0) + coalesce(excluded.sum_clustering, 0),
        sum_cross_team_ratio = coalesce(h.sum_cross_team_ratio, 0) + coalesce(excluded.sum_cross_team_ratio, 0),
        sum_after_hours_share = coalesce(h.sum_after_hours_share, 0) + coalesce(excluded.sum_after_hours_share, 0),
        sum_meeting_hours = coalesce(h.sum_meeting_hours, 0) + coalesce(excluded.sum_meeting_hours, 0),
        sum_network_size = coalesce(h.sum_network_size, 0) + coalesce(excluded.sum_network_size, 0),
        sum_strong_ties = coalesce(h.sum_strong_ties, 0) + coalesce(excluded.sum_strong_ties, 0),
        sum_diverse_ties = coalesce(h.sum_diverse_ties, 0) + coalesce(excluded.sum_diverse_ties, 0),
        n_cross_team_ratio = h.n_cross_team_ratio + excluded.n_cross_team_ratio,
        n_after_hours_share = h.n_after_hours_share + excluded.n_after_hours_share;
    GET DIAGNOSTICS touched = ROW_COUNT;
    RETURN touched;
END $$;

CREATE OR REPLACE FUNCTION metrics_retention_teams(now_at timestamptz, raw_keep interval, rollup_keep interval)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    removed bigint;
BEGIN
    DELETE FROM team_metrics WHERE time < now_at - raw_keep;
    GET DIAGNOSTICS removed = ROW_COUNT;
    DELETE FROM team_metrics_hourly WHERE bucket < now_at - rollup_keep;
    RETURN removed;
END $$;
