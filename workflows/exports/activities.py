"""Export activities bound to the worker's resources."""

from __future__ import annotations

import asyncio

from temporalio import activity

from shared.domain.exports import ExportSweep
from shared.services.exports import finish_export, run_export, sweep_exports
from workflows.bound_activities import ResourceBoundActivities
from workflows.exports import contract


class ExportActivities(ResourceBoundActivities):
    @activity.defn(name=contract.RUN_ACTIVITY)
    async def run(self, request: contract.ExportInput) -> contract.ExportResult:
        try:
            return await run_export(self._resources, request.export_id, heartbeat=activity.heartbeat)
        except asyncio.CancelledError:
            await finish_export(self._resources, request.export_id, "cancelled")
            raise

    @activity.defn(name=contract.FAIL_ACTIVITY)
    async def fail(self, request: contract.FailRequest) -> None:
        await finish_export(self._resources, request.export_id, "failed", request.error)

    @activity.defn(name=contract.SWEEP_ACTIVITY)
    async def sweep(self, request: contract.SweepRequest) -> ExportSweep:
        return await sweep_exports(self._resources, dry_run=request.dry_run)


build_activities = ExportActivities.bound_to  # what worker.py registers
