"""The metric workflows' contract: names, payloads (no dependencies: functions that start it import it)."""

from __future__ import annotations

from dataclasses import dataclass

REFRESH_WORKFLOW_NAME = "MetricsRefreshWorkflow"
RETENTION_WORKFLOW_NAME = "MetricsRetentionWorkflow"
REFRESH_ACTIVITY = "metrics.refresh"
RETENTION_ACTIVITY = "metrics.retention"
# task queue: the worker's ``temporal_task_queue`` (every workflow of the project runs there)


@dataclass
class RefreshRequest:
    trigger: str = "schedule"
    force: bool = False


@dataclass
class RefreshResult:
    """One refresh's outcome and timings: the activity's and the workflow's result (the JSON it
    was as a dict before it was typed), also what ``ops.metrics`` prints."""

    run_id: int
    status: str  # succeeded | skipped | failed
    skipped_reason: str | None = None
    people: int = 0
    ties: int = 0
    mode: str | None = None
    pivots: int | None = None
    reading: str | None = None  # window | cumulative
    snapshot_ms: float = 0.0
    compute_ms: float = 0.0
    writeback_ms: float = 0.0
    history_ms: float = 0.0
    duration_ms: float = 0.0


@dataclass
class RetentionRequest:
    pass


def on_demand_workflow_id(task_queue: str) -> str:
    """One on-demand refresh per task queue at a time: a second request attaches to it."""
    return f"metrics-refresh-on-demand:{task_queue}"
