"""Graph rebuild: the asynchronous graph construction as a durable, heartbeating workflow.

Workflow definitions only (sandbox-safe); contract.py, client.py and activities.py as elsewhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workflows.lazy_workflows import lazy_workflows

if TYPE_CHECKING:
    from workflows.graph_rebuild.workflow import GraphRebuildWorkflow

    WORKFLOWS: list[type]

# the workflow classes load only when asked for (workflows/lazy_workflows.py)
__getattr__ = lazy_workflows(__name__, {"GraphRebuildWorkflow": "workflow"})

__all__ = ["WORKFLOWS", "GraphRebuildWorkflow"]
