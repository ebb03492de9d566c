"""What the graph rebuild workflow calls by method reference (its activities implement it); kept out of
the contract so that starting the workflow never loads ``temporalio.activity`` (docs/workflows.md)."""

from __future__ import annotations

from temporalio import activity

from workflows.graph_rebuild.contract import REBUILD_ACTIVITY, RebuildResult


class GraphRebuildActivityContract:
    """What the workflow calls; ``activities.GraphRebuildActivities`` implements it on the worker."""

    @activity.defn(name=REBUILD_ACTIVITY)
    async def rebuild(self) -> RebuildResult:
        raise NotImplementedError
