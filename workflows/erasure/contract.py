"""The erasure workflow's contract: names, steps and the activity interface (no dependencies).

The workflow's input is the erasure's id: the pseudonym never enters the workflow's history.
"""

from __future__ import annotations

from typing import Any

from temporalio import activity

WORKFLOW_NAME = "ErasureWorkflow"
STEP_ACTIVITY = "erasure.step"
COMPLETE_ACTIVITY = "erasure.complete"
STEPS = ("ledger", "history", "records", "exports", "metrics", "redis", "verify")
# task queue: the worker's ``temporal_task_queue``


def erasure_workflow_id(erasure_id: str) -> str:
    return f"erasure:{erasure_id}"


class ErasureActivityContract:
    @activity.defn(name=STEP_ACTIVITY)
    async def step(self, erasure_id: str, name: str) -> dict[str, Any]:
        raise NotImplementedError

    @activity.defn(name=COMPLETE_ACTIVITY)
    async def finish(self, erasure_id: str, status: str, error: str | None) -> dict[str, Any]:
        raise NotImplementedError
