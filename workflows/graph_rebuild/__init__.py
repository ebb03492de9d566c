"""Graph rebuild: the asynchronous graph construction as a durable, heartbeating workflow.

Workflow definitions only (sandbox-safe); contract.py, client.py and activities.py as elsewhere.
"""

from __future__ import annotations

from workflows.graph_rebuild.workflow import GraphRebuildWorkflow

WORKFLOWS: list[type] = [GraphRebuildWorkflow]

__all__ = ["WORKFLOWS", "GraphRebuildWorkflow"]
