"""The metrics side of PostgreSQL: history (employee_metrics + hourly rollup), refresh runs,
materialised summaries, and the ledger window the time-based measures come from.

The SQL is identical on plain PostgreSQL and TimescaleDB: both migration flavours define the
same tables and the helper functions ``metrics_ensure_partition``, ``metrics_after_write`` and
``metrics_retention`` (see migrations/0010_*), plus the team-series twins of the last two
(``metrics_after_write_teams``, ``metrics_retention_teams``, migrations/0012_*).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from shared.adapters.postgres.pool import PgPool
from shared.domain.metrics import (
    HISTORY_COLUMNS,
    METRICS,
    NULLABLE_METRICS,
    NUMERIC_METRICS,
    LastRun,
    Metric,
    MetricDefinitions,
    RunRecord,
    WindowMeasures,
)

Granularity = Literal["raw", "hour", "day"]

# the team tables' aggregates (migration 0012): a sum per metric, a count of values per nullable one
TEAM_SUM_COLUMNS = ", ".join([f"sum_{m}" for m in NUMERIC_METRICS] + [f"n_{m}" for m in NULLABLE_METRICS])
TEAM_SUMS_FROM_EMPLOYEES = ", ".join([f"sum({m})" for m in NUMERIC_METRICS] + [f"count({m})" for m in NULLABLE_METRICS])
HOURLY_SUMS_FROM_TEAM = ", ".join(
    [f"sum(sum_{m})" for m in NUMERIC_METRICS] + [f"sum(n_{m})" for m in NULLABLE_METRICS]
)


def _rollup_mean(metric: Metric, agg: bool, count: str = "n") -> str:
    """SQL for the mean of a metric from rollup sums (``agg``: re-aggregate several rows);
    a metric that may be NULL carries its own count of values."""
    col = metric.name
    n = f"n_{col}" if metric.nullable else count
    if agg:
        return f"sum(sum_{col}) / nullif(sum({n}), 0) AS {col}"
    return f"sum_{col} / nullif({n}, 0) AS {col}"


def _means(metrics: Sequence[Metric], agg: bool, count: str = "n") -> str:
    return ", ".join(_rollup_mean(m, agg, count) for m in metrics)


def employee_history_sql(granularity: Granularity, one_person: bool = True, metrics: Sequence[Metric] = METRICS) -> str:
    """The employee series query: $1 the pseudonym (NULL with ``one_person=False``: everyone,
    ordered by person then time), $2/$3 the range; one column per metric. The history API and
    exports both use it."""
    who = "employee = $1" if one_person else "$1::text IS NULL"
    if granularity == "raw":
        return f"""SELECT employee, time, 1::bigint AS samples, {", ".join(m.name for m in metrics)}
                   FROM employee_metrics WHERE {who} AND time >= $2 AND time < $3 ORDER BY employee, time"""
    if granularity == "hour":
        return f"""SELECT employee, bucket AS time, n AS samples, {_means(metrics, agg=False)}
                   FROM employee_metrics_hourly
                   WHERE {who} AND bucket >= date_trunc('hour', $2::timestamptz, 'UTC') AND bucket < $3
                   ORDER BY employee, bucket"""
    return f"""SELECT employee, date_trunc('day', bucket, 'UTC') AS time, sum(n)::bigint AS samples,
                      {_means(metrics, agg=True)}
               FROM employee_metrics_hourly
               WHERE {who} AND bucket >= date_trunc('day', $2::timestamptz, 'UTC') AND bucket < $3
               GROUP BY employee, 2 ORDER BY employee, 2"""


def team_history_sql(granularity: Granularity, one_team: bool = True, metrics: Sequence[Metric] = METRICS) -> str:
    """The team series query ($1 team or NULL for every team, $2/$3 range), every point with its
    size (``members``: at hour/day the smallest size among the refreshes it summarises). Nothing
    is withheld here: every reader passes the points through the one k-anonymity rule
    (``shared.domain.privacy.team_series_view``). The history API, the web app and exports use it."""
    who = "team = $1" if one_team else "$1::text IS NULL"
    if granularity == "raw":
        return f"""SELECT team, time, members::bigint AS members, {_means(metrics, agg=False, count="members")}
                   FROM team_metrics
                   WHERE {who} AND time >= $2 AND time < $3 ORDER BY team, time"""
    if granularity == "hour":
        return f"""SELECT team, bucket AS time, members_min::bigint AS members,
                          {_means(metrics, agg=False, count="members_sum")}
                   FROM team_metrics_hourly
                   WHERE {who} AND bucket >= date_trunc('hour', $2::timestamptz, 'UTC') AND bucket < $3
                   ORDER BY team, bucket"""
    return f"""SELECT team, date_trunc('day', bucket, 'UTC') AS time, min(members_min)::bigint AS members,
                      {_means(metrics, agg=True, count="members_sum")}
               FROM team_metrics_hourly
               WHERE {who} AND bucket >= date_trunc('day', $2::timestamptz, 'UTC') AND bucket < $3
               GROUP BY team, 2 ORDER BY team, 2"""


_WINDOW_SQL = """
WITH w AS (
    SELECT event_id, occurred_at, kind, src, dst, duration_s
      FROM interactions
     WHERE occurred_at >= $1 AND occurred_at < $2 AND src <> dst
), pe AS (
    SELECT src AS person, event_id, occurred_at, kind, duration_s FROM w
    UNION
    SELECT dst AS person, event_id, occurred_at, kind, duration_s FROM w
)
SELECT person,
       count(*) AS events,
       count(*) FILTER (
           WHERE extract(isodow FROM occurred_at AT TIME ZONE $3) >= 6
              OR extract(hour FROM occurred_at AT TIME ZONE $3) < $4
              OR extract(hour FROM occurred_at AT TIME ZONE $3) >= $5) AS after_hours,
       coalesce(sum(duration_s) FILTER (WHERE kind = 'meeting'), 0)::double precision AS meeting_s
  FROM pe
 GROUP BY person
"""

_RUN_FIELDS = (
    "status",
    "skipped_reason",
    "fingerprint",
    "people",
    "ties",
    "mode",
    "pivots",
    "snapshot_ms",
    "compute_ms",
    "writeback_ms",
    "history_ms",
    "duration_ms",
    "error",
)


class MetricsStore:
    """History, runs and summaries in PostgreSQL, over the shared asyncpg pool."""

    def __init__(self, pool: PgPool) -> None:
        self._pool = pool

    # ---- history ----------------------------------------------------------------------

    async def write_history(self, at: datetime, records: Sequence[tuple[Any, ...]]) -> int:
        """COPY one refresh's rows and fold them into the rollup, in one transaction."""
        if not records:
            return 0
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT metrics_ensure_partition($1)", at)
            await conn.copy_records_to_table("employee_metrics", records=records, columns=list(HISTORY_COLUMNS))
            await conn.execute("SELECT metrics_after_write($1)", at)
            await conn.execute("SELECT metrics_after_write_teams($1)", at)
        return len(records)

    async def _series(self, sql: str, subject: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
        async with self._pool.acquire() as conn:
            return [dict(r) for r in await conn.fetch(sql, subject, start, end)]

    async def employee_history(
        self, employee: str, start: datetime, end: datetime, granularity: Granularity
    ) -> list[dict[str, Any]]:
        return await self._series(employee_history_sql(granularity), employee, start, end)

    async def team_history(
        self, team: str, start: datetime, end: datetime, granularity: Granularity
    ) -> list[dict[str, Any]]:
        """Every point with its exact size: for ``shared.domain.privacy.team_series_view``, never for display."""
        return await self._series(team_history_sql(granularity), team, start, end)

    async def count_raw_history_before(self, cutoff: datetime) -> int:
        """Raw history points older than ``cutoff`` (what a retention run would drop)."""
        return int(await self._pool.fetchval("SELECT count(*) FROM employee_metrics WHERE time < $1", cutoff))

    async def retention(self, now: datetime, raw_keep: timedelta, rollup_keep: timedelta) -> int:
        """Drop raw history past ``raw_keep`` and rollups past ``rollup_keep``; partitions dropped."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT metrics_retention_teams($1, $2, $3)", now, raw_keep, rollup_keep)
            return int(await conn.fetchval("SELECT metrics_retention($1, $2, $3)", now, raw_keep, rollup_keep))

    # ---- ledger window ----------------------------------------------------------------

    async def window_measures(
        self, start: datetime, end: datetime, defs: MetricDefinitions
    ) -> dict[str, WindowMeasures]:
        """After-hours events and meeting time per person over [start, end) of the ledger.

        Each event counts once per participant (the ledger holds one row per directed pair).
        """
        rows = await self._pool.fetch(
            _WINDOW_SQL, start, end, defs.timezone, defs.workday_start_hour, defs.workday_end_hour
        )
        return {
            r["person"]: WindowMeasures(int(r["events"]), int(r["after_hours"]), float(r["meeting_s"])) for r in rows
        }

    # ---- runs -------------------------------------------------------------------------

    async def start_run(self, trigger: str) -> int:
        async with self._pool.acquire() as conn:
            return int(
                await conn.fetchval(
                    "INSERT INTO metrics_refresh_runs (trigger, status) VALUES ($1, 'running') RETURNING run_id",
                    trigger,
                )
            )

    async def finish_run(self, run_id: int, **fields: Any) -> None:
        unknown = set(fields) - set(_RUN_FIELDS)
        if unknown:
            raise ValueError(f"unknown run fields: {sorted(unknown)}")
        names = list(fields)
        sets = ", ".join(f"{name} = ${i + 2}" for i, name in enumerate(names))
        await self._pool.execute(
            f"UPDATE metrics_refresh_runs SET finished_at = clock_timestamp(), {sets} WHERE run_id = $1",
            run_id,
            *(fields[n] for n in names),
        )

    async def record_skip(self, trigger: str, reason: str, fingerprint: str | None) -> int:
        async with self._pool.acquire() as conn:
            return int(
                await conn.fetchval(
                    """INSERT INTO metrics_refresh_runs
                           (trigger, status, skipped_reason, fingerprint, finished_at, duration_ms)
                       VALUES ($1, 'skipped', $2, $3, clock_timestamp(), 0) RETURNING run_id""",
                    trigger,
                    reason,
                    fingerprint,
                )
            )

    async def last_success(self) -> LastRun | None:
        row = await self._pool.fetchrow(
            """SELECT fingerprint, extract(epoch FROM finished_at)::double precision AS finished
                 FROM metrics_refresh_runs WHERE status = 'succeeded'
                ORDER BY finished_at DESC LIMIT 1"""
        )
        return LastRun(row["fingerprint"] or "", float(row["finished"])) if row else None

    async def recent_runs(self, limit: int = 20) -> list[RunRecord]:
        rows = await self._pool.fetch(
            """SELECT run_id, trigger, status, skipped_reason, started_at, finished_at, people, ties,
                      mode, pivots, duration_ms, error
                 FROM metrics_refresh_runs ORDER BY run_id DESC LIMIT $1""",
            limit,
        )
        return [RunRecord(**dict(r)) for r in rows]

    # ---- summaries --------------------------------------------------------------------

    async def save_summary(
        self,
        run_id: int,
        computed_at: datetime,
        graph: dict[str, Any],
        bridges: list[dict[str, Any]],
        teams: list[dict[str, Any]],
    ) -> None:
        await self._pool.execute(
            """INSERT INTO metrics_summaries (run_id, computed_at, graph, bridges, teams)
               VALUES ($1, $2, $3::jsonb, $4::jsonb, $5::jsonb)""",
            run_id,
            computed_at,
            json.dumps(graph),
            json.dumps(bridges),
            json.dumps(teams),
        )

    async def latest_summary(self) -> dict[str, Any] | None:
        row = await self._pool.fetchrow(
            """SELECT run_id, computed_at, graph, bridges, teams
                 FROM metrics_summaries ORDER BY computed_at DESC LIMIT 1"""
        )
        if row is None:
            return None
        return {
            "run_id": row["run_id"],
            "computed_at": row["computed_at"],
            "graph": json.loads(row["graph"]),
            "bridges": json.loads(row["bridges"]),
            "teams": json.loads(row["teams"]),
        }
