"""A causal analysis's Temporal workflow and activities join the trace of the API request that
started it (Temporal's OpenTelemetry interceptor on the API's client and on the worker)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from ops.processes import serve, settings_env
from shared.domain.synthetic_org import generate_org
from shared.platform.resources import Needs, open_resources
from shared.platform.settings import Settings
from shared.services.synthetic_org import load_org
from tests.api.conftest import bearer
from tests.conftest import ROOT, own_database
from tests.observability.conftest import read_spans, wait_span

WEEK0 = date(2026, 1, 5)
SPEC = {
    "treatment": "meeting_hours",
    "outcome": "wellbeing",
    "confounders": ["team", "role", "tenure_years"],
    "window": {"start": "2026-01-05", "end": "2026-03-23"},
    "refuter_simulations": 2,
}


@pytest.fixture(scope="module")
async def org_settings(api_settings: Settings, stack_env: dict[str, str], run_id: str) -> AsyncIterator[Settings]:
    """Its own database with a small synthetic organisation, and its own task queue."""
    async with own_database(stack_env, run_id, "traces") as dsn:
        settings = api_settings.replace(
            **{"pg_dsn": SecretStr(dsn), "temporal_task_queue": f"traces-{uuid.uuid4().hex[:8]}"}
        )
        async with open_resources(settings, Needs(pg=True)) as res:
            await load_org(res, generate_org(11, people=60, weeks=12, first_week=WEEK0))
        yield settings


def test_analysis_workflow_and_activities_share_the_request_trace(
    org_settings: Settings, mint: object, tmp_path: Path
) -> None:
    common = {"otel_span_dir": str(tmp_path), "otel_sampling_ratio": 1.0}
    worker_env = {**os.environ, **settings_env(org_settings, service_name="temporal-worker", **common)}
    worker = subprocess.Popen([sys.executable, "-m", "workflows.worker"], cwd=ROOT, env=worker_env)
    headers = bearer(mint("analyst"))  # type: ignore[operator]
    try:
        with serve(
            "functions.dev_server.main:app", settings_env(org_settings, service_name="analysis-api", **common)
        ) as base:
            started = httpx.post(f"{base}/v1/analyses", json=SPEC, headers=headers, timeout=60)
            assert started.status_code == 202, started.text
            trace_id = started.headers["x-trace-id"]
            deadline = time.monotonic() + 240
            status = ""
            while time.monotonic() < deadline:
                status = httpx.get(base + started.json()["status_url"], headers=headers, timeout=30).json()["status"]
                if status in ("succeeded", "failed", "cancelled"):
                    break
                time.sleep(1)
            assert status == "succeeded", status
            wait_span(tmp_path, trace_id, "analysis-api", "POST /v1/analyses")
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)

    trace = [s for s in read_spans(tmp_path) if s["trace_id"] == trace_id]
    names = {(s["service"], s["name"].split(":")[0]) for s in trace}
    assert ("analysis-api", "POST /v1/analyses") in names, names
    assert ("analysis-api", "StartWorkflow") in names, names
    assert ("temporal-worker", "RunWorkflow") in names, names
    assert ("temporal-worker", "RunActivity") in names, names
    assert any(s["name"] == "RunActivity:analysis.run" for s in trace), names
    stages = {s["name"] for s in trace if s["name"].startswith("causal stage ")}
    assert {"causal stage load:pandas", "causal stage estimate"} <= stages, stages  # the engine's stages
    # the activity's own database reads (asyncpg instrumentation) are in the trace too
    run_activity = {s["span_id"] for s in trace if s["name"] == "RunActivity:analysis.run"}
    worker_children = [s for s in trace if s["service"] == "temporal-worker" and s["parent"] in run_activity]
    assert worker_children, names
    # the chain of parents from the activity leads back to the API's request span
    parents = {s["span_id"]: s["parent"] for s in trace}
    node = next(iter(run_activity))
    for _ in range(50):
        if not parents.get(node):
            break
        node = parents[node]
    root = next(s for s in trace if s["span_id"] == node)
    assert (root["service"], root["name"]) == ("analysis-api", "POST /v1/analyses")
