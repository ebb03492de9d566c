"""The graph rebuild workflow's activity interface: the workflow calls these methods by reference and
``activities`` implements them. Apart from ``contract.py`` so that a function importing the
contract (names and payloads) never loads ``temporalio.activity`` (docs/benchmarks.md, "Cold starts")."""

from __future__ import annotations

from typing import Any

from temporalio import activity

from workflows.graph_rebuild.contract import REBUILD_ACTIVITY


class GraphRebuildActivityContract:
    """What the workflow calls; ``activities.GraphRebuildActivities`` implements it on the worker."""

    @activity.defn(name=REBUILD_ACTIVITY)
    async def rebuild(self) -> dict[str, Any]:
        raise NotImplementedError
