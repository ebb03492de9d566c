"""Outcome signals from the ``outcomes`` table (causal area: one value per person, period, metric).

The production choice for the monitoring step (``CO_OUTCOME_SOURCE=postgres``): per-person
series by period for the difference-in-differences (shared/domain/outcome_monitoring.py), team
membership from the HR attributes (``employee_attributes.team``). People without a value are
left out (no guessing).
"""

from __future__ import annotations

from datetime import date

from shared.adapters.postgres.pool import PgPool


class PgOutcomeSource:
    def __init__(self, pg: PgPool) -> None:
        self._pg = pg

    async def team_members(self, teams: list[str]) -> list[str]:
        if not teams:
            return []
        rows = await self._pg.fetch(
            "SELECT employee FROM employee_attributes WHERE team = ANY($1::text[]) ORDER BY employee", teams
        )
        return [r["employee"] for r in rows]

    async def read_series(
        self, metric: str, people: list[str] | None, start: date, end: date | None
    ) -> dict[str, list[float]]:
        rows = await self._pg.fetch(
            """SELECT employee, value FROM outcomes
               WHERE metric = $1 AND period >= $2 AND ($3::date IS NULL OR period < $3)
                 AND ($4::text[] IS NULL OR employee = ANY($4::text[]))
               ORDER BY employee, period""",
            metric,
            start,
            end,
            people,
        )
        series: dict[str, list[float]] = {}
        for r in rows:
            series.setdefault(r["employee"], []).append(float(r["value"]))
        return series
