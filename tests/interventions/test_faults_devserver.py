"""Faults against the real Temporal dev server: a failing simulator (breaker opens, fails fast,
half-opens, recovers; or the workflow ends failed and compensated), and a worker killed with
SIGKILL during execution and during monitoring (exactly one apply, exactly one revert)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from ops.processes import settings_env, stop
from shared.adapters.connectors.breaker import BreakerState
from shared.adapters.postgres.audit import AuditStore
from shared.domain.interventions import InterventionType, plan_actions
from shared.platform.resources import Resources
from shared.platform.settings import Settings
from shared.services.interventions import workflow_id
from tests.interventions.conftest import counts, events, intervention_worker, proposal, start, wait_status
from workflows.intervention.activities import build

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
async def dev_client(iv_settings: Settings) -> Client:
    return await Client.connect(iv_settings.temporal.address, namespace=iv_settings.temporal.namespace)


async def run_with_worker(client: Client, settings: Settings, resources: Resources, p: Any, **overrides: Any) -> Any:
    acts = build(settings, AuditStore(resources.pg, resources.settings.audit.key))
    async with intervention_worker(client, acts, "dev") as queue:
        handle = await start(client, queue, settings, p, **overrides)
        return await handle.result(), acts


async def test_breaker_opens_fails_fast_half_opens_and_recovers(
    dev_client: Client, iv_settings: Settings, resources: Resources, sim: httpx.AsyncClient
) -> None:
    await sim.post("/admin/faults", json={"fail_next": 4, "endpoints": ["apply"]})
    before = (await sim.get("/admin/counts")).json()["calls"]
    p = proposal(InterventionType.FOCUS_TIME_BLOCK, 1, hours_per_week=2)
    result, acts = await run_with_worker(
        dev_client, iv_settings, resources, p, max_attempts=10, monitoring_window_s=1, rollback_window_s=0
    )
    assert result["status"] == "completed", result
    breaker = acts.breakers.get("workplace-simulator")
    assert breaker.current_state() is BreakerState.CLOSED
    assert breaker.transitions[("closed", "open")] == 1
    assert breaker.transitions[("open", "half_open")] == 2
    assert breaker.transitions[("half_open", "open")] == 1  # the first probe met the 4th failure
    assert breaker.transitions[("half_open", "closed")] == 1
    assert breaker.rejected >= 2  # attempts refused without touching the simulator
    after = (await sim.get("/admin/counts")).json()["calls"]
    assert after["apply"] - before.get("apply", 0) == 5  # 4 injected failures + 1 success, nothing else
    assert after["apply:failed"] - before.get("apply:failed", 0) == 4
    assert (await counts(sim, p))["applied"] == 1
    from prometheus_client import generate_latest

    text = generate_latest(acts.registry).decode()
    assert 'co_breaker_transitions_total{from="half_open",service="workplace-simulator",to="closed"} 1.0' in text


async def test_simulator_down_ends_in_a_clear_audited_failed_state(
    dev_client: Client, iv_settings: Settings, resources: Resources, sim: httpx.AsyncClient
) -> None:
    await sim.post("/admin/faults", json={"fail_rate": 1.0, "endpoints": ["apply"]})
    p = proposal(InterventionType.FOCUS_TIME_BLOCK, 1, hours_per_week=2)
    result, acts = await run_with_worker(dev_client, iv_settings, resources, p, max_attempts=4)
    assert result["status"] == "failed"
    assert "ConnectorUnavailable" in result["error"] or "BreakerOpen" in result["error"]
    assert result["restored"] is True  # the step that may have landed was compensated
    kinds = [e for e, _ in await events(resources, p)]
    assert kinds == [
        "proposed", "pre_state_captured", "execution_failed", "rollback_started", "rolled_back", "failed"
    ]  # fmt: skip
    assert (await counts(sim, p))["applied"] == 0
    row = (
        await AuditStore(resources.pg, resources.settings.audit.key).query(
            intervention_id=p.intervention_id, events=["execution_failed"]
        )
    )[0]
    assert row.details["error"] == result["error"]


class WorkerProcess:
    """`python -m workflows.worker` as a real subprocess (the production entrypoint)."""

    def __init__(self, settings: Settings, queue: str, log: Path) -> None:
        # every setting of the test (its Temporal namespace included), everything on `queue`
        self.env = {**os.environ, **settings_env(settings, temporal_task_queue=queue, intervention_task_queue=None)}
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "workflows.worker"], cwd=ROOT, env=self.env, stdout=out, stderr=out
        )
        deadline = time.monotonic() + 180  # a loaded 2-core machine starts it slowly
        while time.monotonic() < deadline:
            if self.log.read_text(errors="replace").count("worker running") > self.starts:
                self.starts += 1
                return
            if self.proc.poll() is not None:
                raise RuntimeError("worker exited:\n" + self.log.read_text(errors="replace")[-3000:])
            time.sleep(0.1)
        raise RuntimeError("worker did not start")

    starts = 0

    def kill(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc, 15)


@pytest.fixture()
async def worker_proc(iv_settings: Settings, tmp_path: Path) -> AsyncIterator[tuple[WorkerProcess, str]]:
    queue = f"kill-{uuid.uuid4().hex[:8]}"
    wp = WorkerProcess(iv_settings, queue, tmp_path / "worker.log")
    await asyncio.to_thread(wp.start)
    yield wp, queue
    wp.stop()


async def _poll(fn: Any, timeout_s: float = 30) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = await fn()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached")


@pytest.mark.slow
async def test_worker_killed_during_execution_applies_exactly_once(
    dev_client: Client,
    iv_settings: Settings,
    resources: Resources,
    sim: httpx.AsyncClient,
    worker_proc: tuple[WorkerProcess, str],
) -> None:
    wp, queue = worker_proc
    p = proposal(InterventionType.FOCUS_TIME_BLOCK, 1, hours_per_week=3)
    await sim.post("/admin/faults", json={"latency_ms": 2500, "endpoints": ["apply"]})
    handle = await start(
        dev_client, queue, iv_settings, p, activity_timeout_s=6, monitoring_window_s=1, rollback_window_s=0
    )
    await _poll(lambda: _in_flight(sim, "apply"))
    await asyncio.to_thread(wp.kill)  # the apply is in the simulator's hands; its answer is lost
    await _poll(lambda: _landed(sim, p))
    await sim.post("/admin/faults", json={})
    await asyncio.to_thread(wp.start)
    result = await asyncio.wait_for(handle.result(), 90)
    assert result["status"] == "completed", result
    c = await counts(sim, p)
    assert c["applied"] == 1  # exactly one effective apply ...
    assert c["applied_keys"] == [f"{workflow_id(p.intervention_id)}:apply:0"]
    assert c["duplicates"].get("apply", 0) >= 1  # ... although the retried activity called again
    kinds = [e for e, _ in await events(resources, p)]
    assert kinds.count("executed") == 1 and kinds.count("proposed") == 1


@pytest.mark.slow
async def test_worker_killed_during_monitoring_rolls_back_exactly_once(
    dev_client: Client,
    iv_settings: Settings,
    resources: Resources,
    sim: httpx.AsyncClient,
    worker_proc: tuple[WorkerProcess, str],
) -> None:
    wp, queue = worker_proc
    p = proposal(InterventionType.MEETING_LOAD_CAP, 2, max_meeting_hours=10)
    actions = [a.to_dict() for a in plan_actions(p)]
    before = (await sim.post("/admin/capture", json={"actions": actions})).json()["pre_states"]
    handle = await start(
        dev_client, queue, iv_settings, p, activity_timeout_s=6, monitoring_window_s=8, rollback_window_s=0
    )
    await wait_status(handle, "monitoring", timeout_s=30)
    await asyncio.to_thread(wp.kill)
    targets = {"metric": "wellbeing", "people": list(p.target.people), "teams": list(p.target.teams), "value": 3.0}
    await sim.post("/admin/signals", json=targets)  # the targets (and their teams); the comparison stays
    await asyncio.sleep(2)
    await asyncio.to_thread(wp.start)
    result = await asyncio.wait_for(handle.result(), 90)
    assert result["status"] == "rolled_back", result
    assert result["restored"] is True
    c = await counts(sim, p)
    assert c["applied"] == 2 and c["reverted"] == 2  # one apply and one revert per step
    after = (await sim.post("/admin/capture", json={"actions": actions})).json()["pre_states"]
    assert after == before
    kinds = [e for e, _ in await events(resources, p)]
    assert kinds.count("rolled_back") == 1 and kinds.count("monitoring_started") == 1


async def _in_flight(sim: httpx.AsyncClient, endpoint: str) -> bool:
    return bool((await sim.get("/admin/counts")).json()["in_flight"].get(endpoint, 0) > 0)


async def _landed(sim: httpx.AsyncClient, p: Any) -> bool:
    return bool((await counts(sim, p))["applied"] == 1)
