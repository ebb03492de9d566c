"""The period backfill workflow's activity interface: the workflow calls these methods by reference and
``activities`` implements them. Apart from ``contract.py`` so that a function importing the
contract (names and payloads) never loads ``temporalio.activity`` (docs/benchmarks.md, "Cold starts")."""

from __future__ import annotations

from temporalio import activity

from workflows.period_backfill.contract import (
    FINISH_ACTIVITY,
    PERIOD_ACTIVITY,
    PLAN_ACTIVITY,
    BackfillPlan,
    BackfillRequest,
    FinishTask,
    PeriodTask,
)


class PeriodBackfillActivityContract:
    @activity.defn(name=PLAN_ACTIVITY)
    async def plan(self, request: BackfillRequest) -> BackfillPlan:
        raise NotImplementedError

    @activity.defn(name=PERIOD_ACTIVITY)
    async def write(self, task: PeriodTask) -> None:
        raise NotImplementedError

    @activity.defn(name=FINISH_ACTIVITY)
    async def finish(self, task: FinishTask) -> None:
        raise NotImplementedError
