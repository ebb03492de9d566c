"""Activities of the analysis workflow, bound to the worker's injected resources."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity

from shared.platform.resources import Resources
from workflows.analysis.workflow import (
    CREATE_ACTIVITY,
    FINISH_ACTIVITY,
    RUN_ACTIVITY,
    CreateRequest,
    FinishRequest,
    RunRequest,
)


def build_activities(resources: Resources) -> list[Callable[..., Any]]:
    """Closures over ``resources`` (no module state): what worker.py registers."""

    @activity.defn(name=RUN_ACTIVITY)
    async def run_analysis(request: RunRequest) -> dict[str, Any]:
        from shared.services.causal_analysis import execute_stored

        info = activity.info()

        async def tell_workflow(progress: dict[str, Any]) -> None:
            try:  # best effort: the analyses row already holds the progress
                client = await resources.temporal()
                await client.get_workflow_handle(request.workflow_id).signal("progress", progress)
            except Exception as exc:  # noqa: BLE001
                activity.logger.debug("progress signal failed: %s", exc)

        return await execute_stored(
            resources,
            request.analysis_id,
            info.attempt,
            heartbeat=activity.heartbeat,
            on_progress=tell_workflow,
        )

    @activity.defn(name=FINISH_ACTIVITY)
    async def finish(request: FinishRequest) -> None:
        from shared.adapters.postgres.causal_store import CausalStore

        await CausalStore(resources.pg).finish_unsuccessfully(request.analysis_id, request.status, request.error)

    @activity.defn(name=CREATE_ACTIVITY)
    async def create(request: CreateRequest) -> str:
        from shared.services.causal_analysis import record_for_workflow

        return await record_for_workflow(resources, request.spec, request.workflow_id)

    return [run_analysis, finish, create]
