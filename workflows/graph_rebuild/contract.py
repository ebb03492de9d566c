"""The graph rebuild workflow's contract: names, the fixed workflow id, the activity interface."""

from __future__ import annotations

from typing import Any

from temporalio import activity

WORKFLOW_NAME = "GraphRebuildWorkflow"
WORKFLOW_ID = "graph-rebuild"  # one rebuild at a time
REBUILD_ACTIVITY = "graph_rebuild"
# task queue: the worker's ``temporal_task_queue``


class GraphRebuildActivityContract:
    """What the workflow calls; ``activities.GraphRebuildActivities`` implements it on the worker."""

    @activity.defn(name=REBUILD_ACTIVITY)
    async def rebuild(self) -> dict[str, Any]:
        raise NotImplementedError
