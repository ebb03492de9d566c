"""Metric refresh workflows: the hourly/on-demand refresh and the daily history retention.

Deterministic shells around one activity each; the work (and the Redis lock that prevents
overlap) lives in shared.services.metrics_refresh. Temporal adds durability, retries and the
schedule; the schedule itself skips a start while the previous one runs (overlap SKIP).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

REFRESH_ACTIVITY = "metrics.refresh"
RETENTION_ACTIVITY = "metrics.retention"


@dataclass
class RefreshRequest:
    trigger: str = "schedule"
    force: bool = False


@dataclass
class RetentionRequest:
    pass


_RETRY = RetryPolicy(initial_interval=timedelta(seconds=10), backoff_coefficient=2.0, maximum_attempts=3)


@workflow.defn(name="MetricsRefreshWorkflow")
class MetricsRefreshWorkflow:
    @workflow.run
    async def run(self, request: RefreshRequest) -> dict[str, Any]:
        result: dict[str, Any] = await workflow.execute_activity(
            REFRESH_ACTIVITY,
            request,
            start_to_close_timeout=timedelta(minutes=15),
            retry_policy=_RETRY,
            result_type=dict,
        )
        return result


@workflow.defn(name="MetricsRetentionWorkflow")
class MetricsRetentionWorkflow:
    @workflow.run
    async def run(self, request: RetentionRequest) -> int:
        dropped: int = await workflow.execute_activity(
            RETENTION_ACTIVITY,
            request,
            start_to_close_timeout=timedelta(minutes=10),
            retry_policy=_RETRY,
            result_type=int,
        )
        return dropped
