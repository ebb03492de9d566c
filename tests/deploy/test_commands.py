"""The container commands the Knative manifests run, run here as written (only the bind address is
moved to a free loopback port), against the real local stack: the probes Knative calls answer, and
the CloudEvents function still ingests through the app the manifest serves."""

from __future__ import annotations

import httpx
import pytest
from cloudevents.conversion import to_binary, to_structured

from ops.processes import free_port, settings_env
from shared.adapters.redis_pool import build_redis
from shared.platform.settings import Settings
from shared.platform.tokens import mint_token
from tests.deploy.manifests import cloud_event as _event
from tests.deploy.manifests import knative_services, running


@pytest.fixture(scope="module")
def deploy_env(settings: Settings, run_id: str) -> dict[str, str]:
    return settings_env(settings, CO_STREAM_NAME=f"test:{run_id}:deploy")


@pytest.mark.parametrize("name", sorted(n for n in knative_services() if n != "ingest-cloudevents"))
def test_http_function_command_serves_its_probes(name: str, deploy_env: dict[str, str]) -> None:
    with running(name, deploy_env) as base:
        live = httpx.get(base + "/health/live", timeout=5)
        assert live.status_code == 200 and live.json() == {"status": "ok"}
        ready = httpx.get(base + "/health/ready", timeout=10)
        assert ready.status_code == 200, ready.text
        assert ready.json()["status"] == "ready"


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
