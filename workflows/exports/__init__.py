"""Exports on Temporal: one workflow per export, and the scheduled sweeper.

Imported inside the workflow sandbox: nothing but the workflow definitions at module level.
"""

from __future__ import annotations

from workflows.exports.workflow import ExportSweepWorkflow, ExportWorkflow

WORKFLOWS: list[type] = [ExportWorkflow, ExportSweepWorkflow]

__all__ = ["WORKFLOWS", "ExportSweepWorkflow", "ExportWorkflow"]
