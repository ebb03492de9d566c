"""Activities for the metric workflows, bound to the worker's injected resources."""

from __future__ import annotations

from temporalio import activity

from shared.services.metrics_refresh import apply_retention, refresh_metrics
from workflows.bound_activities import ResourceBoundActivities
from workflows.metrics_refresh import contract


class MetricsActivities(ResourceBoundActivities):
    @activity.defn(name=contract.REFRESH_ACTIVITY)
    async def refresh(self, request: contract.RefreshRequest) -> contract.RefreshResult:
        return await refresh_metrics(self._resources, trigger=request.trigger, force=request.force)

    @activity.defn(name=contract.RETENTION_ACTIVITY)
    async def retention(self, request: contract.RetentionRequest) -> int:
        return await apply_retention(self._resources)


build_activities = MetricsActivities.bound_to  # what worker.py registers
