"""Activities of the period back-fill, bound to the worker's injected resources."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, cast

from temporalio import activity

from shared.adapters.postgres.period_store import PeriodStore
from shared.domain.periods import PeriodKind, period_at
from shared.platform.resources import Resources
from shared.services.metrics_refresh import definitions_from
from shared.services.period_metrics import periods_to_fill, tie_rules_from, write_period
from workflows.period_backfill.workflow import (
    FINISH_ACTIVITY,
    PERIOD_ACTIVITY,
    PLAN_ACTIVITY,
    BackfillPlan,
    BackfillRequest,
    FinishTask,
    PeriodTask,
)


def build_activities(resources: Resources) -> list[Callable[..., Any]]:
    store = PeriodStore(resources.pg)

    @activity.defn(name=PLAN_ACTIVITY)
    async def plan(request: BackfillRequest) -> BackfillPlan:
        kind = cast(PeriodKind, request.kind)
        periods = await periods_to_fill(resources.pg, kind, datetime.now(UTC), rewrite=request.rewrite)
        first = periods[0].label if periods else datetime.now(UTC).date()
        last = periods[-1].label if periods else first
        run_id = await store.start_backfill(kind, first, last, len(periods))
        return BackfillPlan(run_id, [p.label.isoformat() for p in periods])

    @activity.defn(name=PERIOD_ACTIVITY)
    async def write(task: PeriodTask) -> None:
        settings = resources.settings
        period = period_at(cast(PeriodKind, task.kind), date.fromisoformat(task.label))
        await write_period(
            resources.pg, period, definitions_from(settings), tie_rules_from(settings), settings.min_group_size
        )
        await store.backfill_progress(task.run_id, task.done + 1)

    @activity.defn(name=FINISH_ACTIVITY)
    async def finish(task: FinishTask) -> None:
        await store.finish_backfill(task.run_id, task.status, task.error)

    return [plan, write, finish]
