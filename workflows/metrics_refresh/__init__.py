"""Metric refresh on Temporal: hourly schedule + on demand, and the daily history retention.

Imported inside Temporal's workflow sandbox (it is the workflow module's package), so it holds
the workflow definitions only: re-importing asyncpg's C extension inside the sandbox crashed
the process (measured: segfault). contract.py: names and payloads; client.py: starting one;
activities.py: what the worker registers.
"""

from __future__ import annotations

from workflows.metrics_refresh.workflow import MetricsRefreshWorkflow, MetricsRetentionWorkflow

WORKFLOWS: list[type] = [MetricsRefreshWorkflow, MetricsRetentionWorkflow]

__all__ = ["WORKFLOWS", "MetricsRefreshWorkflow", "MetricsRetentionWorkflow"]
