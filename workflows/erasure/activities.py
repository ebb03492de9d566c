"""Erasure activities bound to the worker's resources."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity

from shared.platform.resources import Resources
from shared.services.erasure import complete, run_step
from workflows.erasure.workflow import COMPLETE_ACTIVITY, STEP_ACTIVITY


def build_activities(resources: Resources) -> list[Callable[..., Any]]:
    @activity.defn(name=STEP_ACTIVITY)
    async def step(erasure_id: str, name: str) -> dict[str, Any]:
        return await run_step(resources, erasure_id, name)

    @activity.defn(name=COMPLETE_ACTIVITY)
    async def finish(erasure_id: str, status: str, error: str | None) -> dict[str, Any]:
        return await complete(resources, erasure_id, status, error)

    return [step, finish]
