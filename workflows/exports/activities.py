"""Export activities bound to the worker's resources."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from temporalio import activity

from shared.adapters.postgres.exports_store import ExportsStore
from shared.platform.resources import Resources
from shared.services.exports import run_export, sweep_exports
from workflows.exports.workflow import FAIL_ACTIVITY, RUN_ACTIVITY, SWEEP_ACTIVITY, SweepRequest


def build_activities(resources: Resources) -> list[Callable[..., Any]]:
    @activity.defn(name=RUN_ACTIVITY)
    async def run(export_id: str) -> dict[str, Any]:
        try:
            return await run_export(resources, export_id, heartbeat=activity.heartbeat)
        except asyncio.CancelledError:
            await ExportsStore(resources.pg).finish(export_id, "cancelled")
            raise

    @activity.defn(name=FAIL_ACTIVITY)
    async def fail(export_id: str, error: str) -> None:
        await ExportsStore(resources.pg).finish(export_id, "failed", error)

    @activity.defn(name=SWEEP_ACTIVITY)
    async def sweep(request: SweepRequest) -> dict[str, Any]:
        return await sweep_exports(resources, dry_run=request.dry_run)

    return [run, fail, sweep]
