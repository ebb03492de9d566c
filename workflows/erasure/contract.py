"""The erasure workflow's contract: names, steps (no dependencies; the activity interface is interface.py).

The workflow's input is the erasure's id: the pseudonym never enters the workflow's history.
"""

from __future__ import annotations

WORKFLOW_NAME = "ErasureWorkflow"
STEP_ACTIVITY = "erasure.step"
COMPLETE_ACTIVITY = "erasure.complete"
STEPS = ("ledger", "history", "records", "exports", "metrics", "redis", "verify")
# task queue: the worker's ``temporal_task_queue``


def erasure_workflow_id(erasure_id: str) -> str:
    return f"erasure:{erasure_id}"
