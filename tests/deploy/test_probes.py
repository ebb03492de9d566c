"""The long-running pods' probes (keda/graph-updater.yaml, keda/temporal-worker.yaml), run as the
manifests state them against the local stack: readiness passes while the dependencies answer and
fails when one is down; liveness is the metrics port, which a running graph updater serves."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest

from ops.processes import free_port, settings_env
from shared.platform.settings import Settings
from tests.conftest import ROOT
from tests.deploy.manifests import by_kind, load_documents

DEPLOYMENTS = {d.name: d for d in by_kind(load_documents(), "Deployment")}
PODS = ("graph-updater", "temporal-worker")


def process_env(settings: Settings, **overrides: str) -> dict[str, str]:
    """This environment (PATH, HOME...) with exactly these settings as CO_* variables."""
    return dict(os.environ) | settings_env(settings, **overrides)


def container(name: str) -> dict[str, Any]:
    return dict(DEPLOYMENTS[name].body["spec"]["template"]["spec"]["containers"][0])


def run_readiness(name: str, env: dict[str, str]) -> tuple[int, dict[str, Any]]:
    command = container(name)["readinessProbe"]["exec"]["command"]
    assert command[:2] == ["python", "-m"]
    done = subprocess.run(
        [sys.executable, *command[1:]], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    return done.returncode, json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name", PODS)
def test_probes_are_declared_on_the_metrics_port_and_exec(name: str) -> None:
    c = container(name)
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert c["livenessProbe"]["httpGet"]["port"] in ports
    assert c["readinessProbe"]["exec"]["command"][-1] == name
    assert c["readinessProbe"]["timeoutSeconds"] >= 10  # an interpreter start + the checks


@pytest.mark.parametrize("name", PODS)
def test_readiness_passes_on_the_stack_and_fails_with_a_dependency_down(name: str, settings: Settings) -> None:
    code, body = run_readiness(name, process_env(settings))
    assert code == 0 and body["status"] == "ready", body
    assert body["checks"]["postgres"]["ok"] and body["checks"]["redis"]["ok"] and body["checks"]["graph"]["ok"]
    # a dependency down: Redis for both, and Temporal for the worker
    down = free_port()
    code, body = run_readiness(name, process_env(settings, CO_REDIS_URL=f"redis://127.0.0.1:{down}/0"))
    assert code == 1 and body["status"] == "not_ready", body
    if "checks" in body:
        assert body["checks"]["redis"] == {"ok": False, "error": "unavailable"}  # no error text leaks
    if name == "temporal-worker":
        code, body = run_readiness(name, process_env(settings, CO_TEMPORAL_ADDRESS=f"127.0.0.1:{down}"))
        assert code == 1 and body["status"] == "not_ready", body


def test_graph_updater_liveness_is_its_metrics_port(settings: Settings) -> None:
    """The liveness GET answers while the consumer runs and stops answering once it is gone."""
    port = free_port()
    env = process_env(settings, CO_CONSUMER_METRICS_PORT=str(port), CO_LOG_LEVEL="WARNING")
    proc = subprocess.Popen(
        [sys.executable, "-m", "functions.graph_updater.main", "--consumer", "probe-test"], cwd=ROOT, env=env
    )
    path = container("graph-updater")["livenessProbe"]["httpGet"]["path"]
    url = f"http://127.0.0.1:{port}{path}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, "the graph updater exited"
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "liveness never passed"
            time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    with pytest.raises(httpx.HTTPError):
        httpx.get(url, timeout=2)
