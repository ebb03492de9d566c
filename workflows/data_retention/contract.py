"""The data retention workflow's contract: names, payload and the activity interface."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from temporalio import activity

WORKFLOW_NAME = "DataRetentionWorkflow"
RETENTION_ACTIVITY = "data.retention"
# task queue: the worker's ``temporal_task_queue``


@dataclass
class DataRetentionRequest:
    dry_run: bool = False


class DataRetentionActivityContract:
    @activity.defn(name=RETENTION_ACTIVITY)
    async def retention(self, request: DataRetentionRequest) -> dict[str, Any]:
        raise NotImplementedError
