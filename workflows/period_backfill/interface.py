"""What the period backfill workflow calls by method reference (its activities implement it); kept out of
the contract so that starting the workflow never loads ``temporalio.activity`` (docs/workflows.md)."""

from __future__ import annotations

from temporalio import activity

from workflows.period_backfill import contract


class PeriodBackfillActivityContract:
    @activity.defn(name=contract.PLAN_ACTIVITY)
    async def plan(self, request: contract.BackfillRequest) -> contract.BackfillPlan:
        raise NotImplementedError

    @activity.defn(name=contract.PERIOD_ACTIVITY)
    async def write(self, task: contract.PeriodTask) -> None:
        raise NotImplementedError

    @activity.defn(name=contract.FINISH_ACTIVITY)
    async def finish(self, task: contract.FinishTask) -> None:
        raise NotImplementedError
