"""Starting and steering an intervention's workflow (the typed client services use).

Imports only the contract (temporalio for type hints only: a function's cold start never loads
it). Temporal's own errors pass through unchanged: the services decide what they mean for their
callers.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from workflows.intervention.contract import (
    WORKFLOW_NAME,
    Decision,
    InterventionInput,
    workflow_id,
)

if TYPE_CHECKING:
    from temporalio.client import Client, WorkflowHandle  # imported on the first connection (cold starts)

DECIDE_UPDATE = "decide"
ROLLBACK_UPDATE = "rollback"
SNAPSHOT_QUERY = "snapshot"


async def start(client: Client, task_queue: str, inp: InterventionInput) -> WorkflowHandle[Any, Any]:
    """Start one intervention; the same intervention id twice is refused by Temporal (no double act)."""
    return await client.start_workflow(
        WORKFLOW_NAME, inp, id=workflow_id(str(inp.proposal["intervention_id"])), task_queue=task_queue
    )


async def decide(client: Client, intervention_id: str, decision: Decision) -> dict[str, Any]:
    """Send an approver's decision (a validated update); answers the workflow's snapshot."""
    handle = client.get_workflow_handle(workflow_id(intervention_id))
    result: dict[str, Any] = await handle.execute_update(DECIDE_UPDATE, decision)
    return result


async def rollback(client: Client, intervention_id: str, request: Decision) -> dict[str, Any]:
    handle = client.get_workflow_handle(workflow_id(intervention_id))
    result: dict[str, Any] = await handle.execute_update(ROLLBACK_UPDATE, request)
    return result


async def snapshot(client: Client, intervention_id: str, rpc_timeout: timedelta | None = None) -> dict[str, Any]:
    """The workflow's live state (a query: needs a worker to answer)."""
    handle = client.get_workflow_handle(workflow_id(intervention_id))
    result: dict[str, Any] = await handle.query(SNAPSHOT_QUERY, rpc_timeout=rpc_timeout)
    return result
