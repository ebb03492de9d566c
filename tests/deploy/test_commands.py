"""The container commands the Knative manifests run, run here as written (only the bind address is
moved to a free loopback port), against the real local stack: the probes Knative calls answer, and
the CloudEvents function still ingests through the app the manifest serves."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from cloudevents.conversion import to_binary, to_structured
from cloudevents.http import CloudEvent

from ops.processes import free_port, settings_env, started
from shared.adapters.redis_pool import build_redis
from shared.domain.events import EVENT_TYPE_V1
from shared.platform.settings import Settings
from shared.platform.tokens import mint_token
from tests.deploy.manifests import by_kind, load_documents

KSVCS = {d.name: d for d in by_kind(load_documents(), "Service", "serving.knative.dev/")}


def _command(name: str, port: int) -> list[str]:
    """The manifest's command line, bound to 127.0.0.1:port instead of 0.0.0.0:8080."""
    container = KSVCS[name].body["spec"]["template"]["spec"]["containers"][0]
    args = []
    for arg in container["args"]:
        if arg == "--host=0.0.0.0":
            arg = "--host=127.0.0.1"
        elif arg == "--port=8080":
            arg = f"--port={port}"
        elif arg == "--bind=0.0.0.0:8080":
            arg = f"--bind=127.0.0.1:{port}"
        args.append(arg)
    assert any(str(port) in a for a in args), f"{name}: the manifest's port flag was not found"
    return [sys.executable, "-m", *container["command"], *args]


@contextmanager
def running(name: str, env: dict[str, str], timeout_s: float = 60.0) -> Iterator[str]:
    """The manifest's command for ``name`` on a free port (our environment plus ``env``); yields its base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with started(_command(name, port), env, base + "/health/live", timeout_s=timeout_s, stdout=subprocess.DEVNULL):
        yield base


@pytest.fixture(scope="module")
def deploy_env(settings: Settings, run_id: str) -> dict[str, str]:
    return settings_env(settings, CO_STREAM_NAME=f"test:{run_id}:deploy")


@pytest.mark.parametrize("name", sorted(n for n in KSVCS if n != "ingest-cloudevents"))
def test_http_function_command_serves_its_probes(name: str, deploy_env: dict[str, str]) -> None:
    with running(name, deploy_env) as base:
        live = httpx.get(base + "/health/live", timeout=5)
        assert live.status_code == 200 and live.json() == {"status": "ok"}
        ready = httpx.get(base + "/health/ready", timeout=10)
        assert ready.status_code == 200, ready.text
        assert ready.json()["status"] == "ready"


def _event(event_id: str, type_: str = EVENT_TYPE_V1) -> CloudEvent:
    data = {
        "kind": "email",
        "actor": "alice@example.org",
        "participants": ["bob@example.org"],
        "occurred_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
    }
    return CloudEvent({"type": type_, "source": "/tests/deploy", "id": event_id}, data)


async def test_cloudevents_command_ingests_and_answers_probes(
    deploy_env: dict[str, str], settings: Settings, run_id: str
) -> None:
    stream = f"test:{run_id}:deploy"
    redis = build_redis(settings)  # only Redis: this function touches nothing else
    with running("ingest-cloudevents", deploy_env) as base:
        assert httpx.get(base + "/health/live", timeout=5).json() == {"status": "ok"}
        ready = httpx.get(base + "/health/ready", timeout=10)
        assert ready.status_code == 200 and ready.json()["checks"]["redis"]["ok"] is True
        before = await redis.xlen(stream)
        broker = {"Authorization": f"Bearer {mint_token(settings, subject='broker', roles=['service'])}"}
        for mode, convert in (("binary", to_binary), ("structured", to_structured)):
            headers, body = convert(_event(f"deploy-{run_id}-{mode}"))
            assert httpx.post(base + "/", headers=headers, content=body, timeout=10).status_code == 401
            r = httpx.post(base + "/", headers=headers | broker, content=body, timeout=10)
            assert r.status_code == 200, r.text
        assert await redis.xlen(stream) == before + 2
        headers, body = to_structured(_event(f"deploy-{run_id}-bad", type_="com.example.other"))
        r = httpx.post(base + "/", headers=headers | broker, content=body, timeout=10)
        assert r.status_code == 422 and r.json()["error"]["code"] == "unsupported_event_type"
        assert await redis.xlen(stream) == before + 2
    await redis.unlink(stream)
    await redis.aclose()


def test_cloudevents_readiness_fails_when_redis_is_down(deploy_env: dict[str, str]) -> None:
    env = {**deploy_env, "CO_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    with running("ingest-cloudevents", env) as base:
        assert httpx.get(base + "/health/live", timeout=5).status_code == 200
        ready = httpx.get(base + "/health/ready", timeout=10)
        assert ready.status_code == 503
        body = ready.json()
        assert body["status"] == "not_ready" and body["checks"]["redis"]["ok"] is False
