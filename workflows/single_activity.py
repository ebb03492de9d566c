"""The call every one-activity workflow makes: run its activity method with the project's retry policy."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy

ParamT = TypeVar("ParamT")
ResultT = TypeVar("ResultT")


async def run_single_activity(
    activity: Callable[[Any, ParamT], Awaitable[ResultT]],
    request: ParamT,
    *,
    start_to_close: timedelta,
    first_retry_after: timedelta = timedelta(seconds=10),
) -> ResultT:
    """Three attempts with doubling backoff, so one transient store error does not fail a scheduled run."""
    return await workflow.execute_activity_method(
        activity,
        request,
        start_to_close_timeout=start_to_close,
        retry_policy=RetryPolicy(initial_interval=first_retry_after, backoff_coefficient=2.0, maximum_attempts=3),
    )
