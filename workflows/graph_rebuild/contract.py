"""The graph rebuild workflow's contract: names, the fixed workflow id."""

from __future__ import annotations

from dataclasses import dataclass

WORKFLOW_NAME = "GraphRebuildWorkflow"
WORKFLOW_ID = "graph-rebuild"  # one rebuild at a time
REBUILD_ACTIVITY = "graph_rebuild"
# task queue: the worker's ``temporal_task_queue``


@dataclass
class RebuildResult:
    """The rebuild's end state (the workflow takes no input: there is one graph to rebuild)."""

    state: str
    done: int
    total: int
