"""Causal analysis as a durable Temporal workflow (one heartbeating activity does the work).

Imported inside Temporal's workflow sandbox, so only the workflow definitions are imported at
module level; the activities (asyncpg, dowhy, pyspark) load lazily in build_activities.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workflows.analysis.workflow import AnalysisInput, AnalysisWorkflow

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from shared.platform.resources import Resources

WORKFLOWS: list[type] = [AnalysisWorkflow]


def build_activities(resources: Resources) -> list[Callable[..., Any]]:
    from workflows.analysis.activities import build_activities as build

    return build(resources)


__all__ = ["WORKFLOWS", "AnalysisInput", "AnalysisWorkflow", "build_activities"]
