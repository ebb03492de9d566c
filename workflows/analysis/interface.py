"""What the analysis workflow calls by method reference (its activities implement it); kept out of
the contract so that starting the workflow never loads ``temporalio.activity`` (docs/workflows.md)."""

from __future__ import annotations

from temporalio import activity

from workflows.analysis import contract


class AnalysisActivityContract:
    """What the workflow calls; ``activities.AnalysisActivities`` implements it on the worker."""

    @activity.defn(name=contract.RUN_ACTIVITY)
    async def run_analysis(self, request: contract.RunRequest) -> contract.RunResult:
        raise NotImplementedError

    @activity.defn(name=contract.FINISH_ACTIVITY)
    async def finish(self, request: contract.FinishRequest) -> None:
        raise NotImplementedError

    @activity.defn(name=contract.CREATE_ACTIVITY)
    async def create(self, request: contract.CreateRequest) -> str:
        raise NotImplementedError
