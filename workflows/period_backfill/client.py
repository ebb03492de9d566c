"""Starting a period back-fill (the typed client services use; imports only the contract)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workflows.period_backfill.contract import WORKFLOW_NAME, BackfillRequest, backfill_workflow_id

if TYPE_CHECKING:
    from temporalio.client import Client  # imported on the first workflow start (cold starts)


async def start(client: Client, task_queue: str, *, kind: str, rewrite: bool) -> str:
    """Start a back-fill; while one for ``kind`` runs, attach to it (USE_EXISTING)."""
    # on the first start, not at a function's cold start
    from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

    handle = await client.start_workflow(
        WORKFLOW_NAME,
        BackfillRequest(kind=kind, rewrite=rewrite),
        id=backfill_workflow_id(task_queue, kind),
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
    )
    return handle.id
