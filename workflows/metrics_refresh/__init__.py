"""Metric refresh on Temporal: hourly schedule + on demand, and the daily history retention.

Imported inside Temporal's workflow sandbox (it is the workflow module's package), so it holds
the workflow definitions only: re-importing asyncpg's C extension inside the sandbox crashed
the process (measured: segfault). contract.py: names and payloads; client.py: starting one;
activities.py: what the worker registers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workflows.lazy_workflows import lazy_workflows

if TYPE_CHECKING:
    from workflows.metrics_refresh.workflow import MetricsRefreshWorkflow, MetricsRetentionWorkflow

    WORKFLOWS: list[type]

# the workflow classes load only when asked for (workflows/lazy_workflows.py)
__getattr__ = lazy_workflows(__name__, {"MetricsRefreshWorkflow": "workflow", "MetricsRetentionWorkflow": "workflow"})

__all__ = ["WORKFLOWS", "MetricsRefreshWorkflow", "MetricsRetentionWorkflow"]
