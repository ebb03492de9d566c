"""The scheduled cycle: robust analyses become automatic proposals (once), a permanently failing
step raises an alert and fails the run, and the schedules exist with the right intervals."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import generate_latest
from temporalio.client import Client, WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from shared.adapters.postgres.audit import AuditStore
from shared.platform.resources import Needs, Resources
from shared.platform.settings import Settings
from tests.interventions.conftest import intervention_worker, own_findings
from workflows.intervention.activities import InterventionActivities, build
from workflows.intervention.contract import CycleRequest
from workflows.schedules import ensure_schedules, schedule_id


@pytest.fixture(scope="module")
async def cycle_resources(iv_settings: Settings, stack_env: dict[str, str], run_id: str) -> AsyncIterator[Resources]:
    """This module's own database: the cycle must find exactly the finding the test seeds."""
    async with own_findings(iv_settings, stack_env, run_id, "cycle", Needs(pg=True)) as res:
        yield res


async def _seed_finding(resources: Resources, tag: str) -> list[str]:
    """A robust finding (meeting hours lower wellbeing) and the latest metrics of eight people."""
    now = datetime.now(UTC)
    people = [f"cy-{tag}-{i}" for i in range(8)]
    async with resources.pg.acquire() as conn:
        await conn.execute("SELECT metrics_ensure_partition($1)", now)
        await conn.executemany(
            "INSERT INTO employee_metrics (time, employee, team, meeting_hours) VALUES ($1, $2, 't1', $3)",
            [(now, p, 100.0 + i) for i, p in enumerate(people)],
        )
        result = {
            "treatment": "meeting_hours",
            "outcome": "wellbeing",
            "effect": -0.3,
            "ci_low": -0.4,
            "ci_high": -0.2,
            "verdict": "robust",
        }
        await conn.execute(
            """INSERT INTO analyses (id, spec, status, result, completed_at)
               VALUES ($1, '{}'::jsonb, 'succeeded', $2::jsonb, now())""",
            uuid.uuid4(),
            json.dumps(result),
        )
    return sorted(people, key=lambda p: -int(p.rsplit("-", 1)[1]))[:5]


async def test_full_cycle_proposes_from_robust_findings_once(cycle_resources: Resources) -> None:
    """On the dev server (the time-skipping server mishandles abandoned children)."""
    resources, settings = cycle_resources, cycle_resources.settings
    top5 = await _seed_finding(resources, uuid.uuid4().hex[:6])
    activities = build(settings, AuditStore(resources.pg, settings.audit.key))
    client = await Client.connect(settings.temporal.address, namespace=settings.temporal.namespace)
    async with intervention_worker(client, activities, "cy") as queue:
        req = CycleRequest(mode="full", refresh_workflow="", lookback_hours=1, initial_retry_s=0.1)
        first = await client.execute_workflow("InterventionCycleWorkflow", req, id=f"{queue}-1", task_queue=queue)
        assert len(first["started"]) == 1
        handle = client.get_workflow_handle(first["started"][0])
        for _ in range(100):
            snap = await handle.query("snapshot")
            if snap["status"] == "monitoring":
                break
            await asyncio.sleep(0.1)
        assert snap["type"] == "meeting_load_cap" and snap["impact"]["level"] in ("low", "medium")
        assert snap["status"] == "monitoring"
        second = await client.execute_workflow("InterventionCycleWorkflow", req, id=f"{queue}-2", task_queue=queue)
        assert second["started"] == []  # the same finding is not proposed twice
        await handle.terminate("test over")
    rows = await AuditStore(resources.pg, resources.settings.audit.key).query(
        intervention_id=first["started"][0].removeprefix("intervention-")
    )
    assert rows[0].event == "proposed" and rows[0].actor == "system"
    assert sorted(rows[0].details["proposal"]["target"]["people"]) == sorted(top5)


async def test_permanent_failure_raises_an_alert(
    time_env: WorkflowEnvironment, activities: InterventionActivities
) -> None:
    before = activities.alerts.count("schedule:full-cycle")
    async with intervention_worker(time_env.client, activities, "cy") as queue:
        # a step that can never succeed: evaluate rejects a negative look-back on every attempt
        req = CycleRequest(mode="full", refresh_workflow="", lookback_hours=-1, max_attempts=3, initial_retry_s=1)
        with pytest.raises(WorkflowFailureError) as info:
            await time_env.client.execute_workflow(
                "InterventionCycleWorkflow", req, id=f"{queue}-fail", task_queue=queue
            )
        history = await time_env.client.get_workflow_handle(f"{queue}-fail").fetch_history()
    assert "full cycle failed at evaluate" in str(info.value.cause)
    assert activities.alerts.count("schedule:full-cycle") == before + 1
    assert 'co_alerts_total{source="schedule:full-cycle"}' in generate_latest(activities.registry).decode()
    attempts = [
        e.activity_task_started_event_attributes.attempt
        for e in history.events
        if e.HasField("activity_task_started_event_attributes")
    ]
    assert 3 in attempts  # retried (exponential backoff) before giving up


async def test_schedules_are_created_with_their_intervals(iv_settings: Settings) -> None:
    settings = iv_settings.replace(**{"temporal_task_queue": f"sched-{uuid.uuid4().hex[:6]}"})
    client = await Client.connect(settings.temporal.address, namespace=settings.temporal.namespace)
    ids = await ensure_schedules(client, settings)
    try:
        for name, every in (
            ("intervention-full-cycle-6h", timedelta(hours=6)),
            ("intervention-incremental-5m", timedelta(minutes=5)),
        ):
            sid = schedule_id(settings, name)
            assert sid in ids
            desc = await client.get_schedule_handle(sid).describe()
            assert desc.schedule.spec.intervals[0].every == every
            assert desc.schedule.action.workflow == "InterventionCycleWorkflow"  # type: ignore[attr-defined]
        assert await ensure_schedules(client, settings) == ids  # idempotent
    finally:
        for sid in ids:
            await client.get_schedule_handle(sid).delete()
