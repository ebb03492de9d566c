"""Activities for the metric workflows, bound to the worker's injected resources."""

from __future__ import annotations

from temporalio import activity

from shared.services.metrics_refresh import apply_retention, refresh_metrics
from workflows.bound_activities import ResourceBoundActivities
from workflows.metrics_refresh.contract import (
    REFRESH_ACTIVITY,
    RETENTION_ACTIVITY,
    RefreshRequest,
    RefreshResult,
    RetentionRequest,
)
from workflows.metrics_refresh.interface import MetricsActivityContract


class MetricsActivities(ResourceBoundActivities, MetricsActivityContract):
    @activity.defn(name=REFRESH_ACTIVITY)
    async def refresh(self, request: RefreshRequest) -> RefreshResult:
        return await refresh_metrics(self._resources, trigger=request.trigger, force=request.force)

    @activity.defn(name=RETENTION_ACTIVITY)
    async def retention(self, request: RetentionRequest) -> int:
        return await apply_retention(self._resources)


build_activities = MetricsActivities.bound_to  # what worker.py registers
