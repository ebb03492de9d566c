"""Starting the graph rebuild (the typed client services use; imports only the contract)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workflows.graph_rebuild.contract import WORKFLOW_ID, WORKFLOW_NAME

if TYPE_CHECKING:
    from temporalio.client import Client  # imported on the first workflow start (cold starts)


async def start(client: Client, task_queue: str) -> str:
    """Start a rebuild, or attach to the one running (USE_EXISTING); returns the workflow id."""
    from temporalio.common import WorkflowIDConflictPolicy  # on the first start: not at a function's cold start

    handle = await client.start_workflow(
        WORKFLOW_NAME, id=WORKFLOW_ID, task_queue=task_queue, id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING
    )
    return handle.id
