"""Exports on Temporal: one workflow per export, and the scheduled sweeper.

Imported inside the workflow sandbox: nothing but the workflow definitions at module level.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workflows.exports.workflow import ExportSweepWorkflow, ExportWorkflow, SweepRequest, workflow_id

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from shared.platform.resources import Resources

WORKFLOWS: list[type] = [ExportWorkflow, ExportSweepWorkflow]


def build_activities(resources: Resources) -> list[Callable[..., Any]]:
    from workflows.exports.activities import build_activities as build

    return build(resources)


__all__ = ["WORKFLOWS", "ExportSweepWorkflow", "ExportWorkflow", "SweepRequest", "build_activities", "workflow_id"]
