"""The erasure workflow's activity interface: the workflow calls these methods by reference and
``activities`` implements them. Apart from ``contract.py`` so that a function importing the
contract (names and payloads) never loads ``temporalio.activity`` (docs/benchmarks.md, "Cold starts")."""

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
