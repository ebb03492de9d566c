"""Reading the network metrics: what the metrics API and the web app serve.

Every figure here was materialised by a refresh (node properties, the run's summary, the
history tables) or is kept per event by the graph updater (live totals); nothing is computed on
a request. Team series leave here through the k-anonymity rule; team summaries are shaped
by the callers through ``shared.domain.privacy.team_views``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.adapters.graph.base import GraphCounts
from shared.adapters.postgres.metrics_store import Granularity, MetricsStore
from shared.domain.metrics import RunRecord
from shared.domain.privacy import team_series_view
from shared.platform.resources import Resources
from workflows.metrics_refresh import client as refresh_client


async def person(resources: Resources, person_id: str) -> dict[str, Any] | None:
    """One person's node properties (degree from the ingest path, the rest from the last refresh)."""
    return await resources.graph.get_person(person_id)


async def live_counts(resources: Resources) -> GraphCounts:
    """People, ties and total weight now, over everyone (kept per event, not per refresh)."""
    return await resources.graph.counts()


async def latest_summary(resources: Resources) -> dict[str, Any] | None:
    """The last completed refresh's summary: graph figures, bridges, team figures."""
    return await MetricsStore(resources.pg).latest_summary()


async def employee_history(
    resources: Resources, person_id: str, start: datetime, end: datetime, granularity: Granularity
) -> list[dict[str, Any]]:
    return await MetricsStore(resources.pg).employee_history(person_id, start, end, granularity)


async def team_history(
    resources: Resources, team: str, start: datetime, end: datetime, granularity: Granularity
) -> list[dict[str, Any]]:
    """A team's points as a reader may see them, through the one k-anonymity rule (small and
    recently changed points withheld, member counts banded)."""
    points = await MetricsStore(resources.pg).team_history(team, start, end, granularity)
    return team_series_view(team, points, resources.settings.privacy.min_group_size)


async def recent_runs(resources: Resources, limit: int) -> list[RunRecord]:
    return await MetricsStore(resources.pg).recent_runs(limit)


async def start_refresh(resources: Resources, *, force: bool) -> tuple[str, str]:
    """Start a refresh on Temporal now (attaching to one already started this way):
    (workflow id, run id)."""
    client = await resources.temporal()
    return await refresh_client.start_on_demand(client, resources.settings.temporal.task_queue, force=force)
