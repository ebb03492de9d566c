"""Activities of the analysis workflow, bound to the worker's injected resources."""

from __future__ import annotations

from typing import Any

from temporalio import activity

from shared.services.causal_analysis import execute_stored, finish_unsuccessfully, record_for_workflow
from workflows.analysis.contract import (
    CREATE_ACTIVITY,
    FINISH_ACTIVITY,
    PROGRESS,
    RUN_ACTIVITY,
    CreateRequest,
    FinishRequest,
    RunRequest,
    RunResult,
)
from workflows.analysis.interface import AnalysisActivityContract
from workflows.bound_activities import ResourceBoundActivities


class AnalysisActivities(ResourceBoundActivities, AnalysisActivityContract):
    @activity.defn(name=RUN_ACTIVITY)
    async def run_analysis(self, request: RunRequest) -> RunResult:
        resources = self._resources

        async def tell_workflow(progress: dict[str, Any]) -> None:
            try:  # best effort: the analyses row already holds the progress
                client = await resources.temporal()
                await client.get_workflow_handle(request.workflow_id).signal(PROGRESS, progress)
            except Exception as exc:  # noqa: BLE001
                activity.logger.debug("progress signal failed: %s", exc)

        return await execute_stored(
            resources,
            request.analysis_id,
            activity.info().attempt,
            heartbeat=activity.heartbeat,
            on_progress=tell_workflow,
        )

    @activity.defn(name=FINISH_ACTIVITY)
    async def finish(self, request: FinishRequest) -> None:
        await finish_unsuccessfully(self._resources, request.analysis_id, request.status, request.error)

    @activity.defn(name=CREATE_ACTIVITY)
    async def create(self, request: CreateRequest) -> str:
        return await record_for_workflow(self._resources, request.spec, request.workflow_id)


build_activities = AnalysisActivities.bound_to  # what worker.py registers
