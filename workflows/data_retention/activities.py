"""The retention activity, bound to the worker's resources."""

from __future__ import annotations

from temporalio import activity

from shared.services.retention import run_retention
from workflows.bound_activities import ResourceBoundActivities
from workflows.data_retention import contract


class DataRetentionActivities(ResourceBoundActivities):
    @activity.defn(name=contract.RETENTION_ACTIVITY)
    async def retention(self, request: contract.DataRetentionRequest) -> contract.RetentionReport:
        return await run_retention(self._resources, dry_run=request.dry_run)


build_activities = DataRetentionActivities.bound_to  # what worker.py registers
