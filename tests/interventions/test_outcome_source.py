"""Monitoring against the real outcomes table (CO_OUTCOME_SOURCE=postgres): a wellbeing drop
recorded during the monitoring window rolls the intervention back."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from shared.adapters.postgres.audit import AuditStore
from shared.domain.interventions import InterventionType
from shared.platform.resources import Resources
from shared.platform.settings import Settings
from tests.interventions.test_workflow_timeskip import counts, proposal, start, wait_status
from workflows.intervention import WORKFLOWS
from workflows.intervention.activities import build


@pytest.fixture(scope="module")
async def pg_worker(time_env: WorkflowEnvironment, iv_settings: Settings, resources: Resources) -> AsyncIterator[str]:
    settings = iv_settings.replace(**{"outcome_source": "postgres"})
    acts = build(settings, AuditStore(resources.pg, resources.settings.audit.key))
    queue = f"pg-out-{uuid.uuid4().hex[:6]}"
    with ThreadPoolExecutor(4) as pool:
        async with Worker(
            time_env.client, task_queue=queue, workflows=WORKFLOWS, activities=acts.all(), activity_executor=pool
        ):
            yield queue


async def _record(resources: Resources, people: tuple[str, ...], period: date, value: float) -> None:
    async with resources.pg.acquire() as conn:
        await conn.executemany(
            "INSERT INTO outcomes (employee, period, metric, value, source) VALUES ($1, $2, 'wellbeing', $3, 'test')",
            [(p, period, value) for p in people],
        )


async def test_recorded_wellbeing_drop_rolls_back(
    time_env: WorkflowEnvironment, pg_worker: str, iv_settings: Settings, resources: Resources, sim: httpx.AsyncClient
) -> None:
    p = proposal(InterventionType.MEETING_LOAD_CAP, 5, max_meeting_hours=15)
    await _record(resources, p.target.people, date(2026, 11, 2), 72.0)
    handle = await start(time_env, pg_worker, iv_settings, p, monitoring_window_s=7 * 86400)
    snap = await wait_status(handle, "monitoring")
    assert snap["baseline"] == {"people": 5, "mean": 72.0, "withheld": False}  # group figures only
    await _record(resources, p.target.people, date(2026, 11, 9), 61.0)  # the next survey, after the change
    result = await handle.result()
    assert result["status"] == "rolled_back" and result["restored"] is True
    assert result["outcome"]["verdict"] == "negative"
    assert round(result["outcome"]["relative_change"], 3) == round((61 - 72) / 72, 3)
    c = await counts(sim, p)
    assert c["applied"] == 5 and c["reverted"] == 5


async def test_no_recorded_outcome_is_neutral(
    time_env: WorkflowEnvironment, pg_worker: str, iv_settings: Settings, sim: httpx.AsyncClient
) -> None:
    p = proposal(InterventionType.MEETING_LOAD_CAP, 2, max_meeting_hours=30)
    handle = await start(time_env, pg_worker, iv_settings, p, monitoring_window_s=86400, rollback_window_s=0)
    result = await handle.result()
    assert result["status"] == "completed"
    assert result["outcome"]["verdict"] == "neutral" and result["baseline"]["people"] == 0
