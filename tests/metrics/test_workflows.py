"""The refresh and retention workflows on Temporal's test server (real binary, time skipping),
the worker's discovery of the package, and idempotent schedules on the real dev server."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.client import Client, ScheduleOverlapPolicy
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from shared.adapters.datasets import eu_core
from shared.adapters.graph.base import PersonRow, TieRow
from shared.adapters.postgres.metrics_store import MetricsStore
from shared.platform.resources import Resources
from workflows.metrics_refresh import WORKFLOWS, MetricsRefreshWorkflow, MetricsRetentionWorkflow
from workflows.metrics_refresh.activities import build_activities
from workflows.metrics_refresh.client import start_on_demand
from workflows.metrics_refresh.contract import RefreshRequest, RetentionRequest
from workflows.schedules import ensure_schedules, schedule_definitions, schedule_id
from workflows.worker import collect


@pytest.fixture(scope="module")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    async with await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=os.environ["CO_TEMPORAL_TEST_SERVER_PATH"]
    ) as environment:
        yield environment


@pytest.fixture(scope="module")
async def small_graph(mres: Resources, data_dir: Path) -> None:
    teams, edges = eu_core(data_dir)
    await mres.graph.clear()
    await mres.graph.upsert_people([PersonRow(id=p, version=1, team=t) for p, t in teams.items()])
    await mres.graph.upsert_ties([TieRow(a, b, 1, 1.0, 1) for a, b in set(edges)])


def test_worker_discovers_the_package(mres: Resources) -> None:
    workflows, activities = collect(mres)
    assert MetricsRefreshWorkflow in workflows and MetricsRetentionWorkflow in workflows
    names = {getattr(a, "__temporal_activity_definition").name for a in activities}
    assert {"metrics.refresh", "metrics.retention"} <= names


async def test_refresh_workflow_runs_then_skips_unchanged(
    env: WorkflowEnvironment, mres: Resources, small_graph: None
) -> None:
    queue = f"metrics-test-{uuid.uuid4().hex[:8]}"
    async with Worker(env.client, task_queue=queue, workflows=WORKFLOWS, activities=build_activities(mres)):
        first = await env.client.execute_workflow(
            MetricsRefreshWorkflow.run,
            RefreshRequest("test", True),
            id=f"wf-{uuid.uuid4()}",
            task_queue=queue,
        )
        second = await env.client.execute_workflow(
            MetricsRefreshWorkflow.run,
            RefreshRequest("schedule", False),
            id=f"wf-{uuid.uuid4()}",
            task_queue=queue,
        )
        dropped = await env.client.execute_workflow(
            MetricsRetentionWorkflow.run, RetentionRequest(), id=f"wf-{uuid.uuid4()}", task_queue=queue
        )
    assert first.status == "succeeded" and first.people == 1005 and first.mode == "exact"  # a typed RefreshResult
    assert second.status == "skipped" and second.skipped_reason == "unchanged since the last refresh"
    assert isinstance(dropped, int)
    runs = await MetricsStore(mres.pg).recent_runs(2)
    assert [r.run_id for r in runs] == [second.run_id, first.run_id]


async def test_on_demand_start_uses_a_fixed_id(env: WorkflowEnvironment, mres: Resources, small_graph: None) -> None:
    settings = mres.settings.replace(**{"temporal_task_queue": f"metrics-od-{uuid.uuid4().hex[:8]}"})
    async with Worker(
        env.client,
        task_queue=settings.temporal.task_queue,
        workflows=WORKFLOWS,
        activities=build_activities(mres),
    ):
        wf_id, _ = await start_on_demand(env.client, settings.temporal.task_queue, force=True)
        result = await env.client.get_workflow_handle(wf_id).result()
    assert wf_id == f"metrics-refresh-on-demand:{settings.temporal.task_queue}"
    assert result["status"] == "succeeded"
    runs = await MetricsStore(mres.pg).recent_runs(1)
    assert runs[0].trigger == "api" and runs[0].status == "succeeded"


async def test_schedules_are_idempotent_on_the_dev_server(mres: Resources, stack_env: dict[str, str]) -> None:
    settings = mres.settings.replace(**{"temporal_task_queue": f"metrics-sched-{uuid.uuid4().hex[:8]}"})
    client = await Client.connect(stack_env["CO_TEMPORAL_ADDRESS"], namespace=settings.temporal.namespace)
    ids = []
    try:
        ids = await ensure_schedules(client, settings)
        again = await ensure_schedules(client, settings)  # second run updates, never fails or duplicates
        assert ids == again == [schedule_id(settings, d.name) for d in schedule_definitions(settings)]
        desc = await client.get_schedule_handle(schedule_id(settings, "metrics-refresh-hourly")).describe()
        assert desc.schedule.spec.intervals[0].every == timedelta(hours=1)
        assert desc.schedule.policy.overlap == ScheduleOverlapPolicy.SKIP
        assert desc.schedule.action.workflow == "MetricsRefreshWorkflow"  # type: ignore[union-attr]
        assert desc.schedule.action.task_queue == settings.temporal.task_queue  # type: ignore[union-attr]
    finally:
        for sid in ids:
            await client.get_schedule_handle(sid).delete()
