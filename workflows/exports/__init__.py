"""Exports on Temporal: one workflow per export, and the scheduled sweeper.

Imported inside the workflow sandbox: nothing but the workflow definitions at module level.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workflows.lazy_workflows import lazy_workflows

if TYPE_CHECKING:
    from workflows.exports.workflow import ExportSweepWorkflow, ExportWorkflow

    WORKFLOWS: list[type]

# the workflow classes load only when asked for (workflows/lazy_workflows.py)
__getattr__ = lazy_workflows(__name__, {"ExportWorkflow": "workflow", "ExportSweepWorkflow": "workflow"})

__all__ = ["WORKFLOWS", "ExportSweepWorkflow", "ExportWorkflow"]
