"""The rebuild activity: heartbeats its progress so a worker crash is noticed and retried."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity

from shared.platform.resources import Resources
from shared.services.graph_build import rebuild_graph
from workflows.graph_rebuild.contract import REBUILD_ACTIVITY, GraphRebuildActivityContract


class GraphRebuildActivities(GraphRebuildActivityContract):
    def __init__(self, resources: Resources) -> None:
        self._resources = resources

    @activity.defn(name=REBUILD_ACTIVITY)
    async def rebuild(self) -> dict[str, Any]:
        r = self._resources
        status = await rebuild_graph(r.settings, r.redis, r.pg, r.graph, heartbeat=activity.heartbeat)
        return {"state": status.state, "done": status.done, "total": status.total}


def build_activities(resources: Resources) -> list[Callable[..., Any]]:
    return [GraphRebuildActivities(resources).rebuild]
