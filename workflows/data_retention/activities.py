"""The retention activity, bound to the worker's resources."""

from __future__ import annotations

from temporalio import activity

from shared.services.retention import run_retention
from workflows.bound_activities import ResourceBoundActivities
from workflows.data_retention.contract import (
    RETENTION_ACTIVITY,
    DataRetentionRequest,
    RetentionReport,
)
from workflows.data_retention.interface import DataRetentionActivityContract


class DataRetentionActivities(ResourceBoundActivities, DataRetentionActivityContract):
    @activity.defn(name=RETENTION_ACTIVITY)
    async def retention(self, request: DataRetentionRequest) -> RetentionReport:
        return await run_retention(self._resources, dry_run=request.dry_run)


build_activities = DataRetentionActivities.bound_to  # what worker.py registers
