"""The reads behind automatic proposals: recent robust analyses (table ``analyses``, causal
area) and the people most exposed to a treatment in the latest metrics (``employee_metrics``,
metrics area). The decision what to propose is ``shared.services.intervention_cycle``'s."""

from __future__ import annotations

import json
from typing import Any

from shared.adapters.postgres.pool import PgPool
from shared.domain.analysis import METRIC_COLUMNS


class InterventionFindings:
    def __init__(self, pool: PgPool) -> None:
        self._pool = pool

    async def robust_results(self, lookback_hours: float, limit: int = 20) -> list[tuple[str, dict[str, Any]]]:
        """(analysis id, stored result) of recent succeeded analyses judged robust, newest first."""
        if lookback_hours < 0:
            raise ValueError("lookback_hours must be >= 0")
        rows = await self._pool.fetch(
            """SELECT id::text AS id, result::text AS result FROM analyses
               WHERE status = 'succeeded' AND result->>'verdict' = 'robust'
                 AND completed_at >= now() - make_interval(secs => $1)
               ORDER BY completed_at DESC LIMIT $2""",
            lookback_hours * 3600,
            limit,
        )
        return [(r["id"], json.loads(r["result"])) for r in rows]

    async def most_exposed(self, treatment: str, k: int) -> tuple[list[str], list[str]]:
        """The k people with the highest treatment (latest value each), or the two least-connected teams."""
        if treatment not in METRIC_COLUMNS:
            return [], []
        latest = f"""SELECT DISTINCT ON (employee) employee, team, {treatment} AS v FROM employee_metrics
                     WHERE {treatment} IS NOT NULL ORDER BY employee, time DESC"""
        async with self._pool.acquire() as conn:
            if treatment == "cross_team_ratio":
                rows = await conn.fetch(
                    f"SELECT team FROM ({latest}) l WHERE team IS NOT NULL GROUP BY team ORDER BY avg(v), team LIMIT 2"
                )
                return [], [r["team"] for r in rows]
            rows = await conn.fetch(f"SELECT employee FROM ({latest}) l ORDER BY v DESC, employee LIMIT $1", k)
        return [r["employee"] for r in rows], []
