"""Reading the period history (networks over time) for the metrics API's period routes.

Thin on purpose: the routes shape the answers (k-anonymous team views, changes between
periods); the history itself is written by the back-fill (shared.services.period_backfill).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from shared.adapters.postgres.period_store import PeriodStore
from shared.platform.resources import Resources


async def employee_periods(
    resources: Resources, person_id: str, kind: str, start: date, end: date
) -> list[dict[str, Any]]:
    return await PeriodStore(resources.pg).employee_periods(person_id, kind, start, end)


async def team_periods(resources: Resources, team: str, kind: str, start: date, end: date) -> list[dict[str, Any]]:
    return await PeriodStore(resources.pg).team_periods(team, kind, start, end)


async def latest_period(resources: Resources, kind: str) -> date | None:
    """The first day of the newest written period of ``kind`` (None before any back-fill)."""
    written = await PeriodStore(resources.pg).written_periods(kind)
    return max(written) if written else None


async def teams_in_period(resources: Resources, kind: str, start: date) -> list[dict[str, Any]]:
    return await PeriodStore(resources.pg).teams_in_period(kind, start)


async def period_graphs(resources: Resources, kind: str, start: date, end: date) -> list[dict[str, Any]]:
    return await PeriodStore(resources.pg).period_graphs(kind, start, end)
