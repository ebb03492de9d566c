"""What the metrics refresh workflow calls by method reference (its activities implement it); kept out of
the contract so that starting the workflow never loads ``temporalio.activity`` (docs/workflows.md)."""

from __future__ import annotations

from temporalio import activity

from workflows.metrics_refresh import contract


class MetricsActivityContract:
    """What the workflows call; ``activities.MetricsActivities`` implements it on the worker."""

    @activity.defn(name=contract.REFRESH_ACTIVITY)
    async def refresh(self, request: contract.RefreshRequest) -> contract.RefreshResult:
        raise NotImplementedError

    @activity.defn(name=contract.RETENTION_ACTIVITY)
    async def retention(self, request: contract.RetentionRequest) -> int:
        raise NotImplementedError
