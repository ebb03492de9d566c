"""The data retention job on Temporal (daily schedule). Sandbox-safe: workflow definitions only."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workflows.data_retention.workflow import DataRetentionRequest, DataRetentionWorkflow

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from shared.platform.resources import Resources

WORKFLOWS: list[type] = [DataRetentionWorkflow]


def build_activities(resources: Resources) -> list[Callable[..., Any]]:
    from workflows.data_retention.activities import build_activities as build

    return build(resources)


__all__ = ["WORKFLOWS", "DataRetentionRequest", "DataRetentionWorkflow", "build_activities"]
