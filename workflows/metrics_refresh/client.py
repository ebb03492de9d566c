"""Starting the metric workflows (the typed client services use; imports only the contract)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workflows.metrics_refresh.contract import REFRESH_WORKFLOW_NAME, RefreshRequest, on_demand_workflow_id

if TYPE_CHECKING:
    from temporalio.client import Client  # imported on the first workflow start (cold starts)


async def start_on_demand(client: Client, task_queue: str, *, force: bool) -> tuple[str, str]:
    """Start a refresh now; while one started this way is still running, attach to it instead
    (workflow-id conflict policy USE_EXISTING). Returns (workflow id, run id)."""
    # on the first start, not at a function's cold start
    from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

    handle = await client.start_workflow(
        REFRESH_WORKFLOW_NAME,
        RefreshRequest(trigger="api", force=force),
        id=on_demand_workflow_id(task_queue),
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
    )
    return handle.id, handle.result_run_id or ""
