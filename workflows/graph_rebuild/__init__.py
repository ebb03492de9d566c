"""Graph rebuild: the asynchronous graph construction as a durable, heartbeating workflow."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from workflows.graph_rebuild.workflow import GraphRebuildWorkflow

if TYPE_CHECKING:
    from shared.platform.resources import Resources

WORKFLOWS: list[type] = [GraphRebuildWorkflow]


def build_activities(resources: Resources) -> list[Callable[..., Any]]:
    from workflows.graph_rebuild.activities import GraphRebuildActivities

    return [GraphRebuildActivities(resources).rebuild]
