"""The exports workflow's activity interface: the workflow calls these methods by reference and
``activities`` implements them. Apart from ``contract.py`` so that a function importing the
contract (names and payloads) never loads ``temporalio.activity`` (docs/benchmarks.md, "Cold starts")."""

from __future__ import annotations

from typing import Any

from temporalio import activity

from shared.domain.exports import ExportSweep
from workflows.exports.contract import FAIL_ACTIVITY, RUN_ACTIVITY, SWEEP_ACTIVITY, SweepRequest


class ExportActivityContract:
    @activity.defn(name=RUN_ACTIVITY)
    async def run(self, export_id: str) -> dict[str, Any]:
        raise NotImplementedError

    @activity.defn(name=FAIL_ACTIVITY)
    async def fail(self, export_id: str, error: str) -> None:
        raise NotImplementedError

    @activity.defn(name=SWEEP_ACTIVITY)
    async def sweep(self, request: SweepRequest) -> ExportSweep:
        raise NotImplementedError
