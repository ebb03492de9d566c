"""Erasure activities bound to the worker's resources."""

from __future__ import annotations

from typing import Any

from temporalio import activity

from shared.services.erasure import complete, run_step
from workflows.bound_activities import ResourceBoundActivities
from workflows.erasure.contract import COMPLETE_ACTIVITY, STEP_ACTIVITY
from workflows.erasure.interface import ErasureActivityContract


class ErasureActivities(ResourceBoundActivities, ErasureActivityContract):
    @activity.defn(name=STEP_ACTIVITY)
    async def step(self, erasure_id: str, name: str) -> dict[str, Any]:
        return await run_step(self._resources, erasure_id, name)

    @activity.defn(name=COMPLETE_ACTIVITY)
    async def finish(self, erasure_id: str, status: str, error: str | None) -> dict[str, Any]:
        return await complete(self._resources, erasure_id, status, error)


build_activities = ErasureActivities.bound_to  # what worker.py registers
