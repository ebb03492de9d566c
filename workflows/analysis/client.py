"""Starting and reading an analysis workflow (the typed client services use; imports only the contract)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from workflows.analysis.contract import PROGRESS, WORKFLOW_NAME, AnalysisInput, workflow_id

if TYPE_CHECKING:
    from temporalio.client import Client  # imported on the first workflow start (cold starts)


async def start(client: Client, task_queue: str, inp: AnalysisInput) -> str:
    """Start the workflow of a recorded analysis; returns its workflow id."""
    handle = await client.start_workflow(WORKFLOW_NAME, inp, id=workflow_id(inp.analysis_id), task_queue=task_queue)
    return handle.id


async def progress(client: Client, wf_id: str, rpc_timeout: timedelta | None = None) -> dict[str, Any]:
    """The workflow's live progress (a query: needs a worker to answer)."""
    result: dict[str, Any] = await client.get_workflow_handle(wf_id).query(PROGRESS, rpc_timeout=rpc_timeout)
    return result


async def cancel(client: Client, wf_id: str) -> None:
    await client.get_workflow_handle(wf_id).cancel()
