"""The Temporal worker's Sentry reporting: an activity failure is reported once, tagged with its
workflow id. Apart from ``error_reporting.py`` so the HTTP functions never import the worker SDK."""

from __future__ import annotations

from typing import Any

from temporalio import activity
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from shared.platform.error_reporting import active_sentry, report_exception


class _ReportingActivityInbound(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        try:
            return await super().execute_activity(input)
        except Exception as exc:
            info = activity.info()
            if info.attempt == 1:  # once per activity, not once per retry; Temporal keeps the rest
                report_exception(exc, workflow_id=info.workflow_id or "", activity=info.activity_type)
            raise


class ErrorReportingInterceptor(Interceptor):
    """Worker interceptor: an activity failure is reported once, tagged with its workflow id."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _ReportingActivityInbound(next)


def worker_interceptors() -> list[Interceptor]:
    return [ErrorReportingInterceptor()] if active_sentry() is not None else []
