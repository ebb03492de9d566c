"""What the exports workflow calls by method reference (its activities implement it); kept out of
the contract so that starting the workflow never loads ``temporalio.activity`` (docs/workflows.md)."""

from __future__ import annotations

from temporalio import activity

from shared.domain.exports import ExportSweep
from workflows.exports import contract


class ExportActivityContract:
    @activity.defn(name=contract.RUN_ACTIVITY)
    async def run(self, request: contract.ExportInput) -> contract.ExportResult:
        raise NotImplementedError

    @activity.defn(name=contract.FAIL_ACTIVITY)
    async def fail(self, request: contract.FailRequest) -> None:
        raise NotImplementedError

    @activity.defn(name=contract.SWEEP_ACTIVITY)
    async def sweep(self, request: contract.SweepRequest) -> ExportSweep:
        raise NotImplementedError
