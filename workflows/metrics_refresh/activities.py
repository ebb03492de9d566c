"""Activities for the metric workflows, bound to the worker's injected resources."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity

from shared.platform.resources import Resources
from shared.services.metrics_refresh import apply_retention, refresh_metrics
from workflows.metrics_refresh.contract import (
    REFRESH_ACTIVITY,
    RETENTION_ACTIVITY,
    MetricsActivityContract,
    RefreshRequest,
    RetentionRequest,
)


class MetricsActivities(MetricsActivityContract):
    def __init__(self, resources: Resources) -> None:
        self._resources = resources

    @activity.defn(name=REFRESH_ACTIVITY)
    async def refresh(self, request: RefreshRequest) -> dict[str, Any]:
        result = await refresh_metrics(self._resources, trigger=request.trigger, force=request.force)
        return result.as_dict()

    @activity.defn(name=RETENTION_ACTIVITY)
    async def retention(self, request: RetentionRequest) -> int:
        return await apply_retention(self._resources)


def build_activities(resources: Resources) -> list[Callable[..., Any]]:
    """What worker.py registers (no module state: bound to ``resources``)."""
    bound = MetricsActivities(resources)
    return [bound.refresh, bound.retention]
