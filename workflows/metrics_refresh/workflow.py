"""Metric refresh workflows: the hourly/on-demand refresh and the daily history retention.

Deterministic shells around one activity each; the work (and the Redis lock that prevents
overlap) lives in shared.services.metrics_refresh. Temporal adds durability, retries and the
schedule; the schedule itself skips a start while the previous one runs (overlap SKIP).
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.metrics_refresh.activities import MetricsActivities
    from workflows.metrics_refresh.contract import (
        REFRESH_WORKFLOW_NAME,
        RETENTION_WORKFLOW_NAME,
        RefreshRequest,
        RefreshResult,
        RetentionRequest,
    )
    from workflows.single_activity import run_single_activity


@workflow.defn(name=REFRESH_WORKFLOW_NAME)
class MetricsRefreshWorkflow:
    @workflow.run
    async def run(self, request: RefreshRequest) -> RefreshResult:
        return await run_single_activity(MetricsActivities.refresh, request, start_to_close=timedelta(minutes=15))


@workflow.defn(name=RETENTION_WORKFLOW_NAME)
class MetricsRetentionWorkflow:
    @workflow.run
    async def run(self, request: RetentionRequest) -> int:
        return await run_single_activity(MetricsActivities.retention, request, start_to_close=timedelta(minutes=10))
