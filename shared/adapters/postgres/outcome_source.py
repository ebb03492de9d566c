"""Outcome signals from the ``outcomes`` table (causal area: one value per person, period, metric).

The production choice for the monitoring step (``CO_OUTCOME_SOURCE=postgres``): the baseline
is each target's latest value before acting, the verdict compares it with each target's latest
value when the monitoring window ends. People without a value are left out (no guessing).
"""

from __future__ import annotations

from shared.adapters.postgres.pool import PgPool


class PgOutcomeSource:
    def __init__(self, pg: PgPool) -> None:
        self._pg = pg

    async def read_outcome(self, metric: str, people: list[str], teams: list[str]) -> dict[str, float]:
        if not people:
            return {}
        async with self._pg.acquire() as conn:
            rows = await conn.fetch(
                """SELECT DISTINCT ON (employee) employee, value FROM outcomes
                   WHERE metric = $1 AND employee = ANY($2::text[])
                   ORDER BY employee, period DESC""",
                metric,
                people,
            )
        return {r["employee"]: float(r["value"]) for r in rows}
