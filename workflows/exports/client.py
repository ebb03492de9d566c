"""Starting and cancelling an export (the typed client services use; imports only the contract)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workflows.exports.contract import EXPORT_WORKFLOW_NAME, ExportInput, workflow_id

if TYPE_CHECKING:
    from temporalio.client import Client  # imported on the first workflow start (cold starts)


async def start(client: Client, task_queue: str, export_id: str) -> str:
    handle = await client.start_workflow(
        EXPORT_WORKFLOW_NAME, ExportInput(export_id), id=workflow_id(export_id), task_queue=task_queue
    )
    return handle.id


async def cancel(client: Client, wf_id: str) -> None:
    await client.get_workflow_handle(wf_id).cancel()
