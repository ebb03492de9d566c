"""The retention activity, bound to the worker's resources."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity

from shared.platform.resources import Resources
from shared.services.retention import run_retention
from workflows.data_retention.workflow import RETENTION_ACTIVITY, DataRetentionRequest


def build_activities(resources: Resources) -> list[Callable[..., Any]]:
    @activity.defn(name=RETENTION_ACTIVITY)
    async def retention(request: DataRetentionRequest) -> dict[str, Any]:
        return await run_retention(resources, dry_run=request.dry_run)

    return [retention]
