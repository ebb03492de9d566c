"""Metric refresh on Temporal: hourly schedule + on demand, and the daily retention job."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workflows.metrics_refresh.activities import build_activities
from workflows.metrics_refresh.workflow import (
    MetricsRefreshWorkflow,
    MetricsRetentionWorkflow,
    RefreshRequest,
    RetentionRequest,
)

if TYPE_CHECKING:
    from temporalio.client import Client

    from shared.platform.settings import Settings

WORKFLOWS: list[type] = [MetricsRefreshWorkflow, MetricsRetentionWorkflow]


def on_demand_workflow_id(settings: Settings) -> str:
    return f"metrics-refresh-on-demand:{settings.temporal_task_queue}"


async def start_on_demand(client: Client, settings: Settings, *, force: bool) -> tuple[str, str]:
    """Start a refresh now; while one started this way is still running, attach to it instead
    (workflow-id conflict policy USE_EXISTING). Returns (workflow id, run id)."""
    from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

    handle = await client.start_workflow(
        MetricsRefreshWorkflow.run,
        RefreshRequest(trigger="api", force=force),
        id=on_demand_workflow_id(settings),
        task_queue=settings.temporal_task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
    )
    return handle.id, handle.result_run_id or ""


__all__ = [
    "WORKFLOWS",
    "MetricsRefreshWorkflow",
    "MetricsRetentionWorkflow",
    "RefreshRequest",
    "RetentionRequest",
    "build_activities",
    "on_demand_workflow_id",
    "start_on_demand",
]
