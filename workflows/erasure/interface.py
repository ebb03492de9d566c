"""What the erasure workflow calls by method reference (its activities implement it); kept out of
the contract so that starting the workflow never loads ``temporalio.activity`` (docs/workflows.md)."""

from __future__ import annotations

from typing import Any

from temporalio import activity

from workflows.erasure.contract import COMPLETE_ACTIVITY, STEP_ACTIVITY


class ErasureActivityContract:
    @activity.defn(name=STEP_ACTIVITY)
    async def step(self, erasure_id: str, name: str) -> dict[str, Any]:
        raise NotImplementedError

    @activity.defn(name=COMPLETE_ACTIVITY)
    async def finish(self, erasure_id: str, status: str, error: str | None) -> dict[str, Any]:
        raise NotImplementedError
