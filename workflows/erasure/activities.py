"""Erasure activities bound to the worker's resources."""

from __future__ import annotations

from temporalio import activity

from shared.services.erasure import complete, run_step
from workflows.bound_activities import ResourceBoundActivities
from workflows.erasure import contract


class ErasureActivities(ResourceBoundActivities):
    @activity.defn(name=contract.STEP_ACTIVITY)
    async def step(self, request: contract.StepRequest) -> contract.StepReport:
        return contract.StepReport(await run_step(self._resources, request.erasure_id, request.step))

    @activity.defn(name=contract.COMPLETE_ACTIVITY)
    async def finish(self, request: contract.FinishRequest) -> contract.ErasureOutcome:
        return await complete(self._resources, request.erasure_id, request.status, request.error)


build_activities = ErasureActivities.bound_to  # what worker.py registers
