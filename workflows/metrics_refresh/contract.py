"""The metric workflows' contract: names, payloads and the activity interface (no dependencies)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from temporalio import activity

REFRESH_WORKFLOW_NAME = "MetricsRefreshWorkflow"
RETENTION_WORKFLOW_NAME = "MetricsRetentionWorkflow"
REFRESH_ACTIVITY = "metrics.refresh"
RETENTION_ACTIVITY = "metrics.retention"
# task queue: the worker's ``temporal_task_queue`` (every workflow of the project runs there)


@dataclass
class RefreshRequest:
    trigger: str = "schedule"
    force: bool = False


@dataclass
class RetentionRequest:
    pass


def on_demand_workflow_id(task_queue: str) -> str:
    """One on-demand refresh per task queue at a time: a second request attaches to it."""
    return f"metrics-refresh-on-demand:{task_queue}"


class MetricsActivityContract:
    """What the workflows call; ``activities.MetricsActivities`` implements it on the worker."""

    @activity.defn(name=REFRESH_ACTIVITY)
    async def refresh(self, request: RefreshRequest) -> dict[str, Any]:
        raise NotImplementedError

    @activity.defn(name=RETENTION_ACTIVITY)
    async def retention(self, request: RetentionRequest) -> int:
        raise NotImplementedError
