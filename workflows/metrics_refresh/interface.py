"""The metrics refresh workflow's activity interface: the workflow calls these methods by reference and
``activities`` implements them. Apart from ``contract.py`` so that a function importing the
contract (names and payloads) never loads ``temporalio.activity`` (docs/benchmarks.md, "Cold starts")."""

from __future__ import annotations

from typing import Any

from temporalio import activity

from workflows.metrics_refresh.contract import REFRESH_ACTIVITY, RETENTION_ACTIVITY, RefreshRequest, RetentionRequest


class MetricsActivityContract:
    """What the workflows call; ``activities.MetricsActivities`` implements it on the worker."""

    @activity.defn(name=REFRESH_ACTIVITY)
    async def refresh(self, request: RefreshRequest) -> dict[str, Any]:
        raise NotImplementedError

    @activity.defn(name=RETENTION_ACTIVITY)
    async def retention(self, request: RetentionRequest) -> int:
        raise NotImplementedError
