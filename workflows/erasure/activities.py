"""Erasure activities bound to the worker's resources."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity

from shared.platform.resources import Resources
from shared.services.erasure import complete, run_step
from workflows.erasure.contract import COMPLETE_ACTIVITY, STEP_ACTIVITY, ErasureActivityContract


class ErasureActivities(ErasureActivityContract):
    def __init__(self, resources: Resources) -> None:
        self._resources = resources

    @activity.defn(name=STEP_ACTIVITY)
    async def step(self, erasure_id: str, name: str) -> dict[str, Any]:
        return await run_step(self._resources, erasure_id, name)

    @activity.defn(name=COMPLETE_ACTIVITY)
    async def finish(self, erasure_id: str, status: str, error: str | None) -> dict[str, Any]:
        return await complete(self._resources, erasure_id, status, error)


def build_activities(resources: Resources) -> list[Callable[..., Any]]:
    bound = ErasureActivities(resources)
    return [bound.step, bound.finish]
