"""The analysis workflow's activity interface: the workflow calls these methods by reference and
``activities`` implements them. Apart from ``contract.py`` so that a function importing the
contract (names and payloads) never loads ``temporalio.activity`` (docs/benchmarks.md, "Cold starts")."""

from __future__ import annotations

from typing import Any

from temporalio import activity

from workflows.analysis.contract import (
    CREATE_ACTIVITY,
    FINISH_ACTIVITY,
    RUN_ACTIVITY,
    CreateRequest,
    FinishRequest,
    RunRequest,
)


class AnalysisActivityContract:
    """What the workflow calls; ``activities.AnalysisActivities`` implements it on the worker."""

    @activity.defn(name=RUN_ACTIVITY)
    async def run_analysis(self, request: RunRequest) -> dict[str, Any]:
        raise NotImplementedError

    @activity.defn(name=FINISH_ACTIVITY)
    async def finish(self, request: FinishRequest) -> None:
        raise NotImplementedError

    @activity.defn(name=CREATE_ACTIVITY)
    async def create(self, request: CreateRequest) -> str:
        raise NotImplementedError
