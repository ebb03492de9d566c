"""The export workflows' contract: names, payloads (no dependencies: functions that start it import it)."""

from __future__ import annotations

from dataclasses import dataclass

EXPORT_WORKFLOW_NAME = "ExportWorkflow"
SWEEP_WORKFLOW_NAME = "ExportSweepWorkflow"
RUN_ACTIVITY = "exports.run"
FAIL_ACTIVITY = "exports.fail"
SWEEP_ACTIVITY = "exports.sweep"
NOT_RETRYABLE = ["ExportRefused", "ExportCancelled"]
# task queue: the worker's ``temporal_task_queue``


@dataclass
class ExportInput:
    """The export workflow's and run activity's input (workflows started before it was typed carry the bare id)."""

    export_id: str


@dataclass
class ExportResult:
    """What one export wrote (the API reads the same figures from the exports row)."""

    rows: int
    bytes: int
    object_key: str


@dataclass
class FailRequest:
    export_id: str
    error: str


@dataclass
class SweepRequest:
    dry_run: bool = False


def workflow_id(export_id: str) -> str:
    return f"export:{export_id}"
