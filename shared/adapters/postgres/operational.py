"""The operational figures Prometheus scrapes from PostgreSQL: refresh freshness, analyses,
interventions and approvals. Read-only; a table not migrated yet simply yields no figure."""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg

_REFRESH = """
SELECT extract(epoch FROM finished_at)::float8 AS at, duration_ms
  FROM metrics_refresh_runs WHERE status = 'succeeded' ORDER BY finished_at DESC LIMIT 1
"""
_ANALYSES = "SELECT status, count(*)::int AS n FROM analyses GROUP BY status"
# Upper bounds (s) of the analysis-duration histogram: a small pandas run takes seconds, a
# Spark panel minutes, the 30-minute activity timeout is the last finite bucket.
ANALYSIS_DURATION_BUCKETS = (1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0)
_ANALYSIS_DURATIONS = f"""
SELECT engine, verdict, count(*)::int AS n, sum(d)::float8 AS total,
       ARRAY[{", ".join(f"count(*) FILTER (WHERE d <= {b})::int" for b in ANALYSIS_DURATION_BUCKETS)}] AS cumulative
  FROM (SELECT coalesce(result->>'engine', provenance->>'engine', 'unknown') AS engine,
               CASE WHEN status = 'failed' THEN 'failed' ELSE coalesce(result->>'verdict', 'unknown') END AS verdict,
               extract(epoch FROM completed_at - started_at)::float8 AS d
          FROM analyses
         WHERE status IN ('succeeded', 'failed') AND completed_at IS NOT NULL AND started_at IS NOT NULL) a
 GROUP BY 1, 2
"""
_INTERVENTIONS = "SELECT status, count(*)::int AS n FROM interventions GROUP BY status"
_APPROVALS = """
SELECT count(*)::int AS n, coalesce(extract(epoch FROM now() - min(proposed_at)), 0)::float8 AS oldest
  FROM interventions WHERE status = 'awaiting_approval'
"""


@dataclass(frozen=True)
class DurationHistogram:
    """Cumulative bucket counts (``le`` each of ANALYSIS_DURATION_BUCKETS), total count and sum."""

    cumulative: tuple[int, ...]
    count: int
    total_s: float


@dataclass
class OperationalFigures:
    refresh_last_success: float | None = None
    refresh_last_duration_s: float | None = None
    analyses_by_status: dict[str, int] = field(default_factory=dict)
    analysis_durations: dict[tuple[str, str], DurationHistogram] = field(default_factory=dict)
    interventions_by_state: dict[str, int] = field(default_factory=dict)
    interventions_table: bool = False  # the approval figures are real (the table exists)
    approval_backlog: int = 0
    approval_oldest_age_s: float = 0.0


async def operational_figures(conn: asyncpg.Connection) -> OperationalFigures:
    figures = OperationalFigures()
    try:
        row = await conn.fetchrow(_REFRESH)
        if row is not None:
            figures.refresh_last_success = float(row["at"])
            figures.refresh_last_duration_s = float(row["duration_ms"] or 0.0) / 1000
    except asyncpg.UndefinedTableError:
        pass
    try:
        figures.analyses_by_status = {r["status"]: r["n"] for r in await conn.fetch(_ANALYSES)}
        figures.analysis_durations = {
            (r["engine"], r["verdict"]): DurationHistogram(tuple(r["cumulative"]), r["n"], float(r["total"] or 0.0))
            for r in await conn.fetch(_ANALYSIS_DURATIONS)
        }
    except asyncpg.UndefinedTableError:
        pass
    try:
        figures.interventions_by_state = {r["status"]: r["n"] for r in await conn.fetch(_INTERVENTIONS)}
        approvals = await conn.fetchrow(_APPROVALS)
        figures.interventions_table = True
        if approvals is not None:
            figures.approval_backlog = int(approvals["n"])
            figures.approval_oldest_age_s = float(approvals["oldest"])
    except asyncpg.UndefinedTableError:
        pass
    return figures
