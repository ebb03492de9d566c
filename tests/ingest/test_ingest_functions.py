"""The ingest functions over real HTTP: 202 with ids, every bad input 4xx with nothing written."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from cloudevents.conversion import to_binary, to_structured
from cloudevents.http import CloudEvent

from ops.processes import free_port, serve, settings_env, started
from shared.domain.events import cloudevent_ledger_id
from shared.platform.settings import Settings
from shared.platform.tokens import mint_token


def now_iso(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


def good(event_id: str) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "kind": "meeting",
        "actor": "alice@example.org",
        "participants": ["bob@example.org", "carol@example.org"],
        "occurred_at": now_iso(hours=-1),
        "duration_s": 1800,
        "teams": {"alice@example.org": "research"},
    }


@pytest.fixture(scope="module")
def ingest_env(settings: Settings, run_id: str) -> dict[str, str]:
    return settings_env(settings, CO_STREAM_NAME=f"test:{run_id}:http")


@pytest.fixture(scope="module")
def ingest_url(ingest_env: dict[str, str]) -> Any:
    with serve("functions.ingest_http.main:app", ingest_env) as base:
        yield base


def auth(settings: Settings, role: str = "service") -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(settings, subject='ingest-test', roles=[role])}"}


async def stream_len(resources: Any, run_id: str) -> int:
    return int(await resources.redis.xlen(f"test:{run_id}:http"))


async def test_batch_is_accepted_with_ids(ingest_url: str, settings: Settings, resources: Any, run_id: str) -> None:
    before = await stream_len(resources, run_id)
    r = httpx.post(ingest_url + "/v1/events", json={"events": [good("h1"), good("h2")]}, headers=auth(settings))
    assert r.status_code == 202, r.text
    assert r.json() == {"accepted": 2, "event_ids": ["h1", "h2"]}
    assert await stream_len(resources, run_id) == before + 2
    entries = await resources.redis.xrevrange(f"test:{run_id}:http", count=2)
    stored = [json.loads(fields[b"e"]) for _, fields in entries]
    assert all("alice" not in json.dumps(s) for s in stored), "raw identifiers must never be stored"
    assert all(s["actor"].startswith("p_") for s in stored)


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"events": [good("b1") | {"kind": "fax"}]}, 422, "events.0.kind"),
        ({"events": [good("b2") | {"occurred_at": "2026-11-30T10:00:00"}]}, 422, "events.0.occurred_at"),
        ({"events": [good("b3") | {"occurred_at": now_iso(days=2)}]}, 422, "events.0.occurred_at"),
        ({"events": [good("b4") | {"occurred_at": now_iso(days=-120)}]}, 422, "events.0.occurred_at"),
        ({"events": [good("b5") | {"participants": []}]}, 422, "events.0.participants"),
        ({"events": [good("b6") | {"participants": ["alice@example.org"]}]}, 422, "events.0"),
        ({"events": [good(f"b7-{i}") for i in range(1001)]}, 422, "events"),
        ({"events": []}, 422, "events"),
        ({"events": [good("ok-1"), good("b8") | {"kind": "fax"}]}, 422, "events.1.kind"),
        ([1, 2], 422, "body"),
    ],
)
async def test_bad_batch_is_rejected_and_writes_nothing(
    ingest_url: str, settings: Settings, resources: Any, run_id: str, body: Any, status: int, field: str
) -> None:
    before = await stream_len(resources, run_id)
    r = httpx.post(ingest_url + "/v1/events", json=body, headers=auth(settings))
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == "validation_error"
    assert any(d["field"] == field for d in error["details"]), error
    assert await stream_len(resources, run_id) == before, "a rejected batch must write nothing"


async def test_malformed_json_and_wrong_role(ingest_url: str, settings: Settings, resources: Any, run_id: str) -> None:
    before = await stream_len(resources, run_id)
    r = httpx.post(
        ingest_url + "/v1/events",
        content=b"{not json",
        headers=auth(settings) | {"content-type": "application/json"},
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request"
    r = httpx.post(ingest_url + "/v1/events", json={"events": [good("x")]}, headers=auth(settings, "viewer"))
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    r = httpx.post(ingest_url + "/v1/events", json={"events": [good("x")]})
    assert r.status_code == 401 and "Bearer" in r.headers["www-authenticate"]
    assert await stream_len(resources, run_id) == before


@pytest.fixture(scope="module")
def cloudevents_url(ingest_env: dict[str, str]) -> Any:
    """The CloudEvents function under functions-framework, as its own process."""
    port = free_port()
    command = [sys.executable, "-m", "functions_framework", "--source", "functions/ingest_cloudevents/main.py"]
    command += ["--target", "ingest_interaction", "--host", "127.0.0.1", "--port", str(port)]
    base = f"http://127.0.0.1:{port}/"
    with started(command, ingest_env, base, timeout_s=30, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
        yield base


def ce_auth(settings: Settings) -> dict[str, str]:
    """The broker's credential: a service token (docs/security.md, item 1)."""
    return {"Authorization": f"Bearer {mint_token(settings, subject='broker', roles=['service'])}"}


def cloud_event(event_id: str, data: dict[str, Any], type_: str = "com.causalorganism.interaction.v1") -> CloudEvent:
    return CloudEvent({"type": type_, "source": "/tests", "id": event_id}, data)


@pytest.mark.parametrize("mode", ["binary", "structured"])
async def test_cloudevent_modes_are_accepted(
    cloudevents_url: str, resources: Any, run_id: str, mode: str, settings: Settings
) -> None:
    data = {k: v for k, v in good("ignored").items() if k != "event_id"}
    headers, body = (to_binary if mode == "binary" else to_structured)(cloud_event(f"ce-{mode}", data))
    before = await stream_len(resources, run_id)
    r = httpx.post(cloudevents_url, headers=headers | ce_auth(settings), content=body)
    assert r.status_code == 200, r.text
    assert await stream_len(resources, run_id) == before + 1
    _, fields = (await resources.redis.xrevrange(f"test:{run_id}:http", count=1))[0]
    assert json.loads(fields[b"e"])["event_id"] == cloudevent_ledger_id("/tests", f"ce-{mode}")  # (source, id)


async def test_bad_cloudevents_are_rejected(
    cloudevents_url: str, resources: Any, run_id: str, settings: Settings
) -> None:
    before = await stream_len(resources, run_id)
    data = {k: v for k, v in good("x").items() if k != "event_id"}
    headers, body = to_binary(cloud_event("ce-bad-type", data, type_="com.example.other"))
    r = httpx.post(cloudevents_url, headers=headers | ce_auth(settings), content=body)
    assert r.status_code == 422 and r.json()["error"]["code"] == "unsupported_event_type"
    headers, body = to_structured(cloud_event("ce-bad", data | {"participants": []}))
    r = httpx.post(cloudevents_url, headers=headers | ce_auth(settings), content=body)
    assert r.status_code == 422
    assert any(d["field"] == "participants" for d in r.json()["error"]["details"])
    assert await stream_len(resources, run_id) == before


async def test_replay_streams_a_real_file_through_the_endpoint(
    ingest_url: str, settings: Settings, resources: Any, run_id: str, data_dir: Any, tmp_path: Any
) -> None:
    from shared.services.replay import file_events, replay

    source = data_dir / "email-Eu-core" / "email-Eu-core-temporal-first150days.txt"
    sample = tmp_path / "sample.txt"
    sample.write_text("".join(source.read_text().splitlines(keepends=True)[:1200]))
    events = list(file_events(sample, span_days=30))
    self_loops = sum(1 for e in events if e["actor"] == e["participants"][0])
    before = await stream_len(resources, run_id)
    token = mint_token(settings, subject="replay", roles=["service"])
    report = await replay(iter(events), url=ingest_url + "/v1/events", token=token, rate=4000.0, batch_size=250)
    assert report.rejected_batches == 0
    assert report.accepted == 1200 - self_loops == report.sent
    assert report.skipped_self_loops == self_loops
    # batch k leaves at k * 250 / rate: the last one leaves after (sent - 250) / rate seconds
    assert report.seconds >= (report.sent - 250) / 4000.0 * 0.95, "the replay's rate holds"
    assert await stream_len(resources, run_id) == before + report.accepted
