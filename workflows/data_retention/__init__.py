"""The data retention job on Temporal (daily schedule). Sandbox-safe: workflow definitions only."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workflows.lazy_workflows import lazy_workflows

if TYPE_CHECKING:
    from workflows.data_retention.workflow import DataRetentionWorkflow

    WORKFLOWS: list[type]

# the workflow classes load only when asked for (workflows/lazy_workflows.py)
__getattr__ = lazy_workflows(__name__, {"DataRetentionWorkflow": "workflow"})

__all__ = ["WORKFLOWS", "DataRetentionWorkflow"]
