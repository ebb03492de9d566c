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
_ANALYSIS_DURATIONS = """
SELECT coalesce(result->>'engine', 'unknown') AS engine, coalesce(result->>'verdict', 'unknown') AS verdict,
       avg(extract(epoch FROM completed_at - started_at))::float8 AS seconds
  FROM analyses
 WHERE status = 'succeeded' AND completed_at > now() - interval '24 hours' AND started_at IS NOT NULL
 GROUP BY 1, 2
"""
_INTERVENTIONS = "SELECT status, count(*)::int AS n FROM interventions GROUP BY status"
_APPROVALS = """
SELECT count(*)::int AS n, coalesce(extract(epoch FROM now() - min(proposed_at)), 0)::float8 AS oldest
  FROM interventions WHERE status = 'awaiting_approval'
"""


@dataclass
class OperationalFigures:
    refresh_last_success: float | None = None
    refresh_last_duration_s: float | None = None
    analyses_by_status: dict[str, int] = field(default_factory=dict)
    analysis_duration_s: dict[tuple[str, str], float] = field(default_factory=dict)
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
        figures.analysis_duration_s = {
            (r["engine"], r["verdict"]): float(r["seconds"]) for r in await conn.fetch(_ANALYSIS_DURATIONS)
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
