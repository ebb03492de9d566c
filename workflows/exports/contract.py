"""The export workflows' contract: names, payloads and the activity interface (no dependencies)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from temporalio import activity

from shared.domain.exports import ExportSweep

EXPORT_WORKFLOW_NAME = "ExportWorkflow"
SWEEP_WORKFLOW_NAME = "ExportSweepWorkflow"
RUN_ACTIVITY = "exports.run"
FAIL_ACTIVITY = "exports.fail"
SWEEP_ACTIVITY = "exports.sweep"
NOT_RETRYABLE = ["ExportRefused", "ExportCancelled"]
# task queue: the worker's ``temporal_task_queue``


@dataclass
class SweepRequest:
    dry_run: bool = False


def workflow_id(export_id: str) -> str:
    return f"export:{export_id}"


class ExportActivityContract:
    @activity.defn(name=RUN_ACTIVITY)
    async def run(self, export_id: str) -> dict[str, Any]:
        raise NotImplementedError

    @activity.defn(name=FAIL_ACTIVITY)
    async def fail(self, export_id: str, error: str) -> None:
        raise NotImplementedError

    @activity.defn(name=SWEEP_ACTIVITY)
    async def sweep(self, request: SweepRequest) -> ExportSweep:
        raise NotImplementedError
