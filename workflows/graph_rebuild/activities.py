"""The rebuild activity: heartbeats its progress so a worker crash is noticed and retried."""

from __future__ import annotations

from temporalio import activity

from shared.services.graph_build import rebuild_graph
from workflows.bound_activities import ResourceBoundActivities
from workflows.graph_rebuild.contract import REBUILD_ACTIVITY, RebuildResult


class GraphRebuildActivities(ResourceBoundActivities):
    @activity.defn(name=REBUILD_ACTIVITY)
    async def rebuild(self) -> RebuildResult:
        r = self._resources
        status = await rebuild_graph(r.settings, r.redis, r.pg, r.graph, heartbeat=activity.heartbeat)
        return RebuildResult(status.state, status.done, status.total)


build_activities = GraphRebuildActivities.bound_to  # what worker.py registers
