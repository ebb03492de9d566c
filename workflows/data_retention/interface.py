"""What the data retention workflow calls by method reference (its activities implement it); kept out of
the contract so that starting the workflow never loads ``temporalio.activity`` (docs/workflows.md)."""

from __future__ import annotations

from temporalio import activity

from workflows.data_retention.contract import RETENTION_ACTIVITY, DataRetentionRequest, RetentionReport


class DataRetentionActivityContract:
    @activity.defn(name=RETENTION_ACTIVITY)
    async def retention(self, request: DataRetentionRequest) -> RetentionReport:
        raise NotImplementedError
