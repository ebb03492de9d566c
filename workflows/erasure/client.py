"""Starting an erasure (the typed client services use; imports only the contract)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workflows.erasure.contract import WORKFLOW_NAME, ErasureInput, erasure_workflow_id

if TYPE_CHECKING:
    from temporalio.client import Client  # imported on the first workflow start (cold starts)


async def start(client: Client, task_queue: str, erasure_id: str) -> str:
    handle = await client.start_workflow(
        WORKFLOW_NAME, ErasureInput(erasure_id), id=erasure_workflow_id(erasure_id), task_queue=task_queue
    )
    return handle.id
