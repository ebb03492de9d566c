"""The data retention workflow's activity interface: the workflow calls these methods by reference and
``activities`` implements them. Apart from ``contract.py`` so that a function importing the
contract (names and payloads) never loads ``temporalio.activity`` (docs/benchmarks.md, "Cold starts")."""

from __future__ import annotations

from temporalio import activity

from workflows.data_retention.contract import RETENTION_ACTIVITY, DataRetentionRequest, RetentionReport


class DataRetentionActivityContract:
    @activity.defn(name=RETENTION_ACTIVITY)
    async def retention(self, request: DataRetentionRequest) -> RetentionReport:
        raise NotImplementedError
