"""The rebuild activity: heartbeats its progress so a worker crash is noticed and retried."""

from __future__ import annotations

from typing import Any

from temporalio import activity

from shared.platform.resources import Resources
from shared.services.graph_build import rebuild_graph


class GraphRebuildActivities:
    def __init__(self, resources: Resources) -> None:
        self._resources = resources

    @activity.defn(name="graph_rebuild")
    async def rebuild(self) -> dict[str, Any]:
        r = self._resources
        status = await rebuild_graph(r.settings, r.redis, r.pg, r.graph, heartbeat=activity.heartbeat)
        return {"state": status.state, "done": status.done, "total": status.total}
