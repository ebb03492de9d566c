"""The data retention job on Temporal (daily schedule). Sandbox-safe: workflow definitions only."""

from __future__ import annotations

from workflows.data_retention.workflow import DataRetentionWorkflow

WORKFLOWS: list[type] = [DataRetentionWorkflow]

__all__ = ["WORKFLOWS", "DataRetentionWorkflow"]
