"""Activities for the metric workflows, bound to the worker's injected resources."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity

from shared.platform.resources import Resources
from workflows.metrics_refresh.workflow import (
    REFRESH_ACTIVITY,
    RETENTION_ACTIVITY,
    RefreshRequest,
    RetentionRequest,
)


def build_activities(resources: Resources) -> list[Callable[..., Any]]:
    """Closures over ``resources`` (no module state): what worker.py registers."""

    @activity.defn(name=REFRESH_ACTIVITY)
    async def refresh(request: RefreshRequest) -> dict[str, Any]:
        from shared.services.metrics_refresh import refresh_metrics

        result = await refresh_metrics(resources, trigger=request.trigger, force=request.force)
        return result.as_dict()

    @activity.defn(name=RETENTION_ACTIVITY)
    async def retention(request: RetentionRequest) -> int:
        from shared.services.metrics_refresh import apply_retention

        return await apply_retention(resources)

    return [refresh, retention]
