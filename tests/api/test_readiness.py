"""Liveness touches nothing; readiness checks every dependency and graph readiness, 503 when not ready."""

from __future__ import annotations

import socket

import httpx

from shared.platform.http import create_app
from shared.platform.resources import Needs, Resources
from shared.platform.settings import Settings
from tests.api.conftest import running


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_ready_reports_each_dependency_and_graph_build(
    dev_client: httpx.AsyncClient, api_settings: Settings, resources: Resources
) -> None:
    r = await dev_client.get("/health/ready")
    body = r.json()
    assert {"graph", "redis", "postgres"} <= set(body["checks"])
    assert all(body["checks"][n]["ok"] for n in ("graph", "redis", "postgres")), body
    assert body["checks"]["graph_build"] == {"ok": True, "state": "unknown"}
    redis = resources.redis
    key = api_settings.graph.build_key
    try:
        await redis.hset(key, mapping={"state": "building", "done": "120", "total": "1000"})
        r = await dev_client.get("/health/ready")
        assert r.status_code == 503
        build = r.json()["checks"]["graph_build"]
        assert build["ok"] is False and build["state"] == "building" and build["progress"]["done"] == "120"
        await redis.hset(key, mapping={"state": "ready", "done": "1000"})
        r = await dev_client.get("/health/ready")
        assert r.json()["checks"]["graph_build"]["state"] == "ready"
        await redis.delete(key)
        await redis.set(api_settings.graph.ready_key, "0")
        assert (await dev_client.get("/health/ready")).json()["checks"]["graph_build"]["ok"] is False
        await redis.set(api_settings.graph.ready_key, "1")
        r = await dev_client.get("/health/ready")
        assert r.status_code == 200 and r.json()["checks"]["graph_build"] == {"ok": True, "state": "ready"}
    finally:
        await redis.delete(key, api_settings.graph.ready_key)
    assert (await dev_client.get("/health/live")).json() == {"status": "ok"}


async def test_ready_is_503_when_redis_is_down_and_live_still_ok(api_settings: Settings) -> None:
    down = api_settings.replace(**{"redis_url": f"redis://127.0.0.1:{_closed_port()}/0"})
    app = create_app(title="down", needs=Needs(graph=True, redis=True), routers=[], settings=down)
    async with running(app) as client:
        live = await client.get("/health/live")
        assert live.status_code == 200
        r = await client.get("/health/ready")
        assert r.status_code == 503
        body = r.json()
        assert body["status"] == "not_ready"
        assert body["checks"]["redis"] == {"ok": False, "error": "unavailable"}  # no dependency text in public
        assert body["checks"]["graph"]["ok"] is True
        assert body["checks"]["graph_build"]["state"] == "unknown"


async def test_live_never_touches_dependencies(api_settings: Settings) -> None:
    """Every dependency pointed at closed ports: live answers, ready does not."""
    dead = _closed_port()
    down = api_settings.replace(
        **{"redis_url": f"redis://127.0.0.1:{dead}/0", "falkordb_port": dead, "cache_enabled": False}
    )
    app = create_app(title="down", needs=Needs(graph=True, redis=True), routers=[], settings=down)
    async with running(app) as client:
        for _ in range(3):
            assert (await client.get("/health/live")).status_code == 200
        r = await client.get("/health/ready")
        assert r.status_code == 503 and not r.json()["checks"]["graph"]["ok"]
