"""Signed-webhook connector against a real HTTP receiver (uvicorn on a loopback port) that
checks every signature the way a partner would, through the breaker guard."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from shared.adapters.connectors.base import ConnectorRejected, ConnectorUnavailable, GuardedConnector
from shared.adapters.connectors.breaker import BreakerConfig, BreakerOpenError, BreakerRegistry, BreakerState
from shared.adapters.connectors.webhook import SIGNATURE_HEADER, WebhookConnector, sign, verify_signature
from shared.domain.interventions import Action
from tests.interventions.conftest import free_port

SECRET = b"partner-shared-secret"


def receiver(state: dict[str, Any]) -> FastAPI:
    app = FastAPI()

    @app.post("/hook")
    async def hook(request: Request) -> Any:
        body = await request.body()
        if not verify_signature(SECRET, request.headers.get(SIGNATURE_HEADER, ""), body, time.time()):
            state["bad_signatures"] += 1
            return JSONResponse({"error": "bad signature"}, status_code=401)
        if state["down"]:
            return JSONResponse({"error": "down"}, status_code=503)
        event = json.loads(body)
        state["events"].append(event["event"])
        key = request.headers.get("Idempotency-Key")
        if key is not None and key in state["seen"]:
            return {"duplicate": True}
        if key is not None:
            state["seen"].add(key)
        if event["event"] == "capture":
            return {"pre_states": [{"was": a["subject"]} for a in event["actions"]]}
        return {"ok": True}

    return app


@pytest.fixture()
async def hook() -> AsyncIterator[tuple[str, dict[str, Any]]]:
    state: dict[str, Any] = {"events": [], "seen": set(), "bad_signatures": 0, "down": False}
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(receiver(state), host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no started event
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}/hook", state
    server.should_exit = True
    await task


async def test_signed_calls_are_accepted_and_idempotent(hook: tuple[str, dict[str, Any]]) -> None:
    url, state = hook
    conn = WebhookConnector(url, SECRET)
    guarded = GuardedConnector(conn, BreakerRegistry().get(conn.name))
    action = Action("calendar_block", "p1", {"hours_per_week": 2})
    assert await guarded.health() is True
    assert await guarded.capture_state([action]) == [{"was": "p1"}]
    assert (await guarded.apply(action, "k1")) == {"ok": True}
    assert (await guarded.apply(action, "k1")) == {"duplicate": True}
    assert (await guarded.revert(action, {"was": "p1"}, "r1")) == {"ok": True}
    assert state["events"] == ["health", "capture", "apply", "apply", "revert"]
    assert state["bad_signatures"] == 0
    await conn.aclose()


async def test_wrong_secret_is_refused_and_not_retryable(hook: tuple[str, dict[str, Any]]) -> None:
    url, state = hook
    conn = WebhookConnector(url, b"wrong-secret")
    with pytest.raises(ConnectorRejected):
        await conn.apply(Action("calendar_block", "p1"), "k2")
    assert state["bad_signatures"] == 1 and state["events"] == []
    await conn.aclose()


def test_signature_rules() -> None:
    body = b'{"event":"apply"}'
    now = 1_700_000_000
    header = sign(SECRET, body, now)
    assert verify_signature(SECRET, header, body, now)
    assert not verify_signature(SECRET, header, body + b" ", now)  # body changed
    assert not verify_signature(b"other", header, body, now)  # other secret
    assert not verify_signature(SECRET, header, body, now + 301)  # replayed too late
    assert not verify_signature(SECRET, "garbage", body, now)


async def test_a_failing_receiver_opens_the_breaker(hook: tuple[str, dict[str, Any]]) -> None:
    url, state = hook
    state["down"] = True
    conn = WebhookConnector(url, SECRET)
    breaker = BreakerRegistry(BreakerConfig(failure_threshold=2, reset_timeout_s=60)).get(conn.name)
    guarded = GuardedConnector(conn, breaker)
    for _ in range(2):
        with pytest.raises(ConnectorUnavailable):
            await guarded.apply(Action("calendar_block", "p1"), "k3")
    assert breaker.current_state() is BreakerState.OPEN
    with pytest.raises(BreakerOpenError):
        await guarded.apply(Action("calendar_block", "p1"), "k3")
    await conn.aclose()
