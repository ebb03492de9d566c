"""Activities of the period back-fill, bound to the worker's injected resources."""

from __future__ import annotations

from temporalio import activity

from shared.services import period_backfill
from workflows.bound_activities import ResourceBoundActivities
from workflows.period_backfill import contract


class PeriodBackfillActivities(ResourceBoundActivities):
    @activity.defn(name=contract.PLAN_ACTIVITY)
    async def plan(self, request: contract.BackfillRequest) -> contract.BackfillPlan:
        run_id, labels = await period_backfill.plan(self._resources, request.kind, rewrite=request.rewrite)
        return contract.BackfillPlan(run_id, labels)

    @activity.defn(name=contract.PERIOD_ACTIVITY)
    async def write(self, task: contract.PeriodTask) -> None:
        await period_backfill.write(self._resources, task.run_id, task.kind, task.label, task.done)

    @activity.defn(name=contract.FINISH_ACTIVITY)
    async def finish(self, task: contract.FinishTask) -> None:
        await period_backfill.finish(self._resources, task.run_id, task.status, task.error)


build_activities = PeriodBackfillActivities.bound_to  # what worker.py registers
