"""The retention activity, bound to the worker's resources."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity

from shared.platform.resources import Resources
from shared.services.retention import run_retention
from workflows.data_retention.contract import RETENTION_ACTIVITY, DataRetentionActivityContract, DataRetentionRequest


class DataRetentionActivities(DataRetentionActivityContract):
    def __init__(self, resources: Resources) -> None:
        self._resources = resources

    @activity.defn(name=RETENTION_ACTIVITY)
    async def retention(self, request: DataRetentionRequest) -> dict[str, Any]:
        return await run_retention(self._resources, dry_run=request.dry_run)


def build_activities(resources: Resources) -> list[Callable[..., Any]]:
    return [DataRetentionActivities(resources).retention]
