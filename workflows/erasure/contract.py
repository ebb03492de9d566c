"""The erasure workflow's contract: names, steps (no dependencies: functions that start it import it).

The workflow's input is the erasure's id: the pseudonym never enters the workflow's history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

WORKFLOW_NAME = "ErasureWorkflow"
STEP_ACTIVITY = "erasure.step"
COMPLETE_ACTIVITY = "erasure.complete"
STEPS = ("ledger", "history", "records", "exports", "metrics", "redis", "verify")
# task queue: the worker's ``temporal_task_queue``


def erasure_workflow_id(erasure_id: str) -> str:
    return f"erasure:{erasure_id}"


@dataclass
class ErasureInput:
    """The workflow's input (workflows started before it was typed carry the bare id string)."""

    erasure_id: str


@dataclass
class StepRequest:
    erasure_id: str
    step: str  # one of STEPS


@dataclass
class StepReport:
    """One step's counts (their keys differ per step; stored as jsonb in the erasure's report)."""

    counts: dict[str, Any] = field(default_factory=dict)


@dataclass
class FinishRequest:
    erasure_id: str
    status: str  # succeeded | failed
    error: str | None = None


@dataclass
class ErasureOutcome:
    """The workflow's result: the final status and the per-step report (counts only, by step)."""

    status: str
    report: dict[str, Any] = field(default_factory=dict)
