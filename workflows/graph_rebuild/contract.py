"""The graph rebuild workflow's contract: names, the fixed workflow id (the activity interface is interface.py)."""

from __future__ import annotations

WORKFLOW_NAME = "GraphRebuildWorkflow"
WORKFLOW_ID = "graph-rebuild"  # one rebuild at a time
REBUILD_ACTIVITY = "graph_rebuild"
# task queue: the worker's ``temporal_task_queue``
