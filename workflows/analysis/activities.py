"""Activities of the analysis workflow, bound to the worker's injected resources."""

from __future__ import annotations

from typing import Any

from temporalio import activity

from shared.services.causal_analysis import execute_stored, finish_unsuccessfully, record_for_workflow
from workflows.analysis import contract
from workflows.bound_activities import ResourceBoundActivities


class AnalysisActivities(ResourceBoundActivities):
    @activity.defn(name=contract.RUN_ACTIVITY)
    async def run_analysis(self, request: contract.RunRequest) -> contract.RunResult:
        resources = self._resources

        async def tell_workflow(progress: dict[str, Any]) -> None:
            try:  # best effort: the analyses row already holds the progress
                client = await resources.temporal()
                await client.get_workflow_handle(request.workflow_id).signal(contract.PROGRESS, progress)
            except Exception as exc:  # noqa: BLE001
                activity.logger.debug("progress signal failed: %s", exc)

        return await execute_stored(
            resources,
            request.analysis_id,
            activity.info().attempt,
            heartbeat=activity.heartbeat,
            on_progress=tell_workflow,
        )

    @activity.defn(name=contract.FINISH_ACTIVITY)
    async def finish(self, request: contract.FinishRequest) -> None:
        await finish_unsuccessfully(self._resources, request.analysis_id, request.status, request.error)

    @activity.defn(name=contract.CREATE_ACTIVITY)
    async def create(self, request: contract.CreateRequest) -> str:
        return await record_for_workflow(self._resources, request.spec, request.workflow_id)


build_activities = AnalysisActivities.bound_to  # what worker.py registers
