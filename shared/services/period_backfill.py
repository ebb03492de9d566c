"""Period back-fill as the workflow runs it: plan, write one period, finish; and starting one.

The same steps as ``period_metrics.backfill_in_process`` (CLI, demo), split so each is one
activity: a crash resumes at the next unwritten period.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, cast

from shared.adapters.postgres.period_store import PeriodStore
from shared.domain.periods import PeriodKind, period_at
from shared.platform.resources import Resources
from shared.services.live_graph import tie_rules_from
from shared.services.metrics_refresh import definitions_from
from shared.services.period_metrics import periods_to_fill, write_period
from workflows.period_backfill import client as backfill_client


async def plan(resources: Resources, kind: str, *, rewrite: bool) -> tuple[int, list[str]]:
    """Record a run for the periods left to write; returns (run id, their ISO first days)."""
    periods = await periods_to_fill(resources.pg, cast(PeriodKind, kind), datetime.now(UTC), rewrite=rewrite)
    first = periods[0].label if periods else datetime.now(UTC).date()
    last = periods[-1].label if periods else first
    run_id = await PeriodStore(resources.pg).start_backfill(cast(PeriodKind, kind), first, last, len(periods))
    return run_id, [p.label.isoformat() for p in periods]


async def write(resources: Resources, run_id: int, kind: str, label: str, done: int) -> None:
    """Compute and write one period, then count it in the run's progress."""
    settings = resources.settings
    period = period_at(cast(PeriodKind, kind), date.fromisoformat(label))
    await write_period(
        resources.pg, period, definitions_from(settings), tie_rules_from(settings), settings.privacy.min_group_size
    )
    await PeriodStore(resources.pg).backfill_progress(run_id, done + 1)


async def finish(resources: Resources, run_id: int, status: str, error: str | None) -> None:
    await PeriodStore(resources.pg).finish_backfill(run_id, status, error)


async def start(resources: Resources, kind: str, *, rewrite: bool) -> str:
    """Start the back-fill workflow (or attach to the one running for ``kind``); its workflow id."""
    client = await resources.temporal()
    return await backfill_client.start(client, resources.settings.temporal.task_queue, kind=kind, rewrite=rewrite)


async def runs(resources: Resources, limit: int) -> list[dict[str, Any]]:
    """Back-fill runs with their progress, newest first."""
    return list(await PeriodStore(resources.pg).backfill_runs(limit))
