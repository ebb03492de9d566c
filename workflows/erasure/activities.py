"""Erasure activities bound to the worker's resources."""

from __future__ import annotations

from temporalio import activity

from shared.services.erasure import complete, run_step
from workflows.bound_activities import ResourceBoundActivities
from workflows.erasure.contract import (
    COMPLETE_ACTIVITY,
    STEP_ACTIVITY,
    ErasureOutcome,
    FinishRequest,
    StepReport,
    StepRequest,
)
from workflows.erasure.interface import ErasureActivityContract


class ErasureActivities(ResourceBoundActivities, ErasureActivityContract):
    @activity.defn(name=STEP_ACTIVITY)
    async def step(self, request: StepRequest) -> StepReport:
        return StepReport(await run_step(self._resources, request.erasure_id, request.step))

    @activity.defn(name=COMPLETE_ACTIVITY)
    async def finish(self, request: FinishRequest) -> ErasureOutcome:
        return await complete(self._resources, request.erasure_id, request.status, request.error)


build_activities = ErasureActivities.bound_to  # what worker.py registers
