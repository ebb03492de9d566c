"""Causal analysis as a durable Temporal workflow (one heartbeating activity does the work).

Imported inside Temporal's workflow sandbox: workflow definitions only. contract.py: names and
payloads; client.py: starting one; activities.py (asyncpg, dowhy, pyspark): what the worker registers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workflows.lazy_workflows import lazy_workflows

if TYPE_CHECKING:
    from workflows.analysis.workflow import AnalysisWorkflow

    WORKFLOWS: list[type]

# the workflow classes load only when asked for (workflows/lazy_workflows.py)
__getattr__ = lazy_workflows(__name__, {"AnalysisWorkflow": "workflow"})

__all__ = ["WORKFLOWS", "AnalysisWorkflow"]
