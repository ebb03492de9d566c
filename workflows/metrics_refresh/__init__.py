"""Metric refresh on Temporal: hourly schedule + on demand, and the daily retention job.

This module is imported inside Temporal's workflow sandbox (it is the workflow module's
package), so it imports nothing but the workflow definitions at module level: re-importing
asyncpg's C extension inside the sandbox crashed the process (measured: segfault).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workflows.metrics_refresh.workflow import (
    MetricsRefreshWorkflow,
    MetricsRetentionWorkflow,
    RefreshRequest,
    RetentionRequest,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from temporalio.client import Client

    from shared.platform.resources import Resources
    from shared.platform.settings import Settings

WORKFLOWS: list[type] = [MetricsRefreshWorkflow, MetricsRetentionWorkflow]


def build_activities(resources: Resources) -> list[Callable[..., Any]]:
    """The activities bound to ``resources`` (imported lazily, outside the sandbox's reach)."""
    from workflows.metrics_refresh.activities import build_activities as build

    return build(resources)


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
