"""The period back-fill workflow's contract: names, payloads."""

from __future__ import annotations

from dataclasses import dataclass, field

WORKFLOW_NAME = "PeriodBackfillWorkflow"
PLAN_ACTIVITY = "periods.plan"
PERIOD_ACTIVITY = "periods.write"
FINISH_ACTIVITY = "periods.finish"
# task queue: the worker's ``temporal_task_queue``


@dataclass
class BackfillRequest:
    kind: str = "week"
    rewrite: bool = False  # recompute periods already in the history


@dataclass
class BackfillPlan:
    run_id: int
    labels: list[str] = field(default_factory=list)  # ISO dates of the periods' first days


@dataclass
class BackfillResult:
    run_id: int
    periods: int  # periods written by this run


@dataclass
class PeriodTask:
    run_id: int
    kind: str
    label: str
    done: int  # periods finished before this one (the run record's progress)


@dataclass
class FinishTask:
    run_id: int
    status: str
    error: str | None = None


def backfill_workflow_id(task_queue: str, kind: str) -> str:
    """One back-fill per period kind and task queue at a time: a second request attaches to it."""
    return f"period-backfill:{kind}:{task_queue}"
