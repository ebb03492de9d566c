"""Erasing one person from a loaded email-Eu-core organisation, through the API and a real worker.

Afterwards a scan of every PostgreSQL table, the graph, Redis and S3 finds no trace of their
pseudonym; every other person's metrics equal a fresh computation on an organisation loaded
without them; their five-person department becomes withheld; the audit chain still verifies.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.worker import Worker

from shared.adapters.datasets import eu_core_departments, eu_core_edges
from shared.adapters.graph.base import PersonRow
from shared.adapters.postgres import audit_chain
from shared.adapters.postgres.ledger import apply_events
from shared.adapters.postgres.metrics_store import MetricsStore
from shared.adapters.streams import publish
from shared.domain.events import InteractionEvent, InteractionKind, StoredEvent
from shared.domain.metrics import MATERIALISED_PROPERTIES
from shared.domain.periods import period_of
from shared.domain.privacy import pseudonymise
from shared.platform.resources import Needs, Resources
from shared.platform.settings import Settings
from shared.services import audit
from shared.services.live_graph import tie_rules_from
from shared.services.metrics_refresh import definitions_from, refresh_metrics
from shared.services.period_metrics import write_period
from tests.privacy.conftest import auth, finished, own_org, plant_wellbeing
from workflows import erasure as erasure_workflows
from workflows import exports as export_workflows
from workflows.erasure import activities as erasure_activities
from workflows.exports import activities as export_activities

ERASED_RAW = "eu-core:80"  # a hub (degree 119) of department 29, which has exactly 5 people
END = datetime.now(UTC) - timedelta(hours=1)
SPAN = timedelta(days=20)  # inside the 28-day metrics window, so both refreshes see every event
# the test polls erasure status as an admin
LIMITS = {"rate_limit_admin": 100_000, "rate_limit_read": 100_000, "rate_limit_write": 100_000}
PROPS = ("in_degree", "out_degree", "in_weight", "out_weight", *MATERIALISED_PROPERTIES)


def _events(data_dir: Path, key: bytes, without: str | None) -> list[StoredEvent]:
    departments = eu_core_departments(data_dir)
    edges = [(a, b) for a, b in eu_core_edges(data_dir) if a != b]
    step = SPAN / len(edges)
    memo: dict[str, str] = {}
    out: list[StoredEvent] = []
    for n, (src, dst) in enumerate(edges):
        actor, other = f"eu-core:{src}", f"eu-core:{dst}"
        if without in (actor, other):
            continue
        event = InteractionEvent.model_construct(
            event_id=f"eu-core-{n}",
            kind=InteractionKind.EMAIL,
            actor=actor,
            participants=[other],
            occurred_at=END - SPAN + step * n,
            duration_s=None,
            teams={actor: f"dept-{departments[src]}", other: f"dept-{departments[dst]}"},
        )
        out.append(event.pseudonymised(key, memo))
    return out


async def _load(res: Resources, events: list[StoredEvent]) -> None:
    for i in range(0, len(events), 2000):
        async with res.pg.acquire() as conn:
            applied = await apply_events(conn, events[i : i + 2000])
        await res.graph.upsert_ties(applied.ties)
        await res.graph.upsert_people(applied.people)


@pytest.fixture(scope="module")
async def org(settings: Settings, stack_env: dict[str, str], run_id: str) -> AsyncIterator[Resources]:
    async with own_org(settings, stack_env, run_id, "erasure", Needs.everything(), **LIMITS) as res:
        yield res


@pytest.fixture(scope="module")
async def fresh(settings: Settings, stack_env: dict[str, str], run_id: str) -> AsyncIterator[Resources]:
    async with own_org(settings, stack_env, run_id, "fresh", Needs.everything(), **LIMITS) as res:
        yield res


@pytest.fixture(scope="module")
async def api(org: Resources) -> AsyncIterator[httpx.AsyncClient]:
    from functions.dev_server.main import build_app

    client = await org.temporal()
    app = build_app(org.settings)
    with ThreadPoolExecutor(4) as pool:
        async with (
            Worker(
                client,
                task_queue=org.settings.temporal.task_queue,
                workflows=[*erasure_workflows.WORKFLOWS, *export_workflows.WORKFLOWS],
                activities=[*erasure_activities.build_activities(org), *export_activities.build_activities(org)],
                activity_executor=pool,
            ),
            app.router.lifespan_context(app),
        ):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://api", timeout=120) as http:
                yield http


async def _wait(api: httpx.AsyncClient, headers: dict[str, str], path: str) -> dict[str, Any]:
    return await finished(api, headers, path, 600)


async def _redis_values(res: Resources, run_id: str) -> list[tuple[bytes, bytes]]:
    """Every key of the Redis server with its value(s) as bytes, except other test sessions'."""
    r = res.redis
    out: list[tuple[bytes, bytes]] = []
    async for key in r.scan_iter(count=1000):
        if key.startswith(b"test:") and not key.startswith(f"test:{run_id}:".encode()):
            continue
        kind = (await r.type(key)).decode()
        if kind == "string":
            value: Any = await r.get(key)
        elif kind == "hash":
            value = await r.hgetall(key)
        elif kind == "list":
            value = await r.lrange(key, 0, -1)
        elif kind == "set":
            value = await r.smembers(key)
        elif kind == "zset":
            value = await r.zrange(key, 0, -1)
        elif kind == "stream":
            value = await r.xrange(key)
        else:
            value = b""
        out.append((key, repr(value).encode()))
    return out


async def _s3_contents(res: Resources) -> list[bytes]:
    def read() -> list[bytes]:
        s3, bucket = res.s3, res.settings.s3.bucket
        blobs: list[bytes] = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for obj in page.get("Contents", []):
                blobs.append(obj["Key"].encode() + s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read())
        return blobs

    return await asyncio.to_thread(read)


async def _people(res: Resources) -> dict[str, dict[str, Any]]:
    rows = await res.graph.execute("MATCH (p:Person) RETURN properties(p) AS props", read_only=True)
    return {r["props"]["id"]: r["props"] for r in rows}


async def test_erasure_removes_every_trace_and_others_match_a_fresh_computation(
    org: Resources, fresh: Resources, api: httpx.AsyncClient, data_dir: Path, run_id: str
) -> None:
    settings = org.settings
    key = settings.privacy.pseudonymisation_key
    person = pseudonymise(ERASED_RAW, key)
    admin = auth(settings, "admin", "admin-erasure")

    # ---- a loaded organisation where the person is everywhere ------------------------------
    await _load(org, _events(data_dir, key, without=None))
    first = await refresh_metrics(org, trigger="test", force=True)
    assert first.status == "succeeded"
    dept = "dept-29"
    summary = await MetricsStore(org.pg).latest_summary()
    assert summary is not None
    before_team = next(t for t in summary["teams"] if t["team"] == dept)
    assert before_team["members"] == 5 and not before_team["withheld"]
    week = period_of("week", END - timedelta(days=7))
    await write_period(
        org.pg, week, definitions_from(settings), tie_rules_from(settings), settings.privacy.min_group_size
    )
    await plant_wellbeing(org.pg, person, 3.5)
    async with org.pg.acquire() as conn:
        await conn.execute(
            "INSERT INTO employee_attributes (employee, tenure_years, role) VALUES ($1, 4, 'eng')", person
        )
        assert await conn.fetchval("SELECT count(*) FROM employee_period_metrics WHERE employee = $1", person) == 1
    await audit.record(
        org.pg, settings.audit.key, event="test.targeted", actor="tester", subject="test:1",
        details={"note": "names nobody"}, personal={"targets": [person]}, people=[person],
    )  # fmt: skip
    stored = _events(data_dir, key, without=None)[:1]
    late = stored[0].model_copy(update={"event_id": "late-1", "actor": person})
    await publish(org.redis, settings.ingest.stream_name, [late.model_dump_json().encode()], 1000)
    analyst = auth(settings, "analyst", "analyst-erasure")
    bridges = await api.get("/v1/metrics/bridges", params={"limit": 50}, headers=analyst)  # a cached response
    assert bridges.status_code == 200
    window = {"start": (END - SPAN).isoformat(), "end": (END + timedelta(hours=2)).isoformat(), "granularity": "hour"}
    exported = await api.post(
        "/v1/exports", json={"kind": "employee_history", "employee": person, **window}, headers=analyst
    )
    assert exported.status_code == 202, exported.text
    done = await _wait(api, analyst, f"/v1/exports/{exported.json()['id']}")
    assert done["status"] == "succeeded" and done["rows"] >= 1
    assert any(person.encode() in blob for blob in await _s3_contents(org))
    assert any(person.encode() in v for _, v in await _redis_values(org, run_id))

    # ---- abuse: only an admin may erase; bad bodies are refused ------------------------------
    assert (await api.post("/v1/privacy/erasures", json={"raw_id": ERASED_RAW})).status_code == 401
    r = await api.post("/v1/privacy/erasures", json={"raw_id": ERASED_RAW}, headers=analyst)
    assert r.status_code == 403
    for body in ({}, {"raw_id": "x", "pseudonym": person}, {"pseudonym": "p_XYZ"}, {"pseudonym": person + "0"}):
        r = await api.post("/v1/privacy/erasures", json=body, headers=admin)
        assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error", (body, r.text)

    # ---- erase them by raw id (pseudonymised at the door) ------------------------------------
    started = await api.post("/v1/privacy/erasures", json={"raw_id": ERASED_RAW}, headers=admin)
    assert started.status_code == 202, started.text
    erasure_id = started.json()["id"]
    result = await _wait(api, admin, f"/v1/privacy/erasures/{erasure_id}")
    assert result["status"] == "succeeded", result
    assert person not in json.dumps(result)  # the answer does not repeat whom it erased
    report = result["report"]
    theirs = sum(1 for a, b in eu_core_edges(data_dir) if a != b and "80" in (a, b))
    assert report["ledger"]["interactions"] == theirs  # one ledger row per email they sent or received
    assert report["records"]["outcomes"] == 1 and report["records"]["employee_attributes"] == 1
    assert report["records"]["audit_personal_payloads"] == 2  # the planted row and the export's
    assert report["exports"]["export_objects_deleted"] == 1
    assert report["redis"]["stream_entries"] == 1  # (the refresh step already dropped cached responses)

    # ---- no trace anywhere -------------------------------------------------------------------
    async with org.pg.acquire() as conn:
        tables = await conn.fetch(
            """SELECT format('%I.%I', n.nspname, c.relname) AS name FROM pg_class c
               JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')"""
        )
        found = {
            t["name"]: n
            for t in tables
            if (n := await conn.fetchval(f"SELECT count(*) FROM {t['name']} x WHERE strpos(x::text, $1) > 0", person))
        }
        assert await conn.fetchval("SELECT subject FROM erasures WHERE id = $1", erasure_id) is None
        verified = await audit_chain.verify(conn, settings.audit.key or b"")
    assert found == {}, found
    assert verified.ok and verified.personal_erased == 2, verified
    graph_hits = await org.graph.execute(
        "MATCH (n) WHERE any(k IN keys(n) WHERE toString(n[k]) CONTAINS $p) RETURN count(n) AS n",
        {"p": person},
        read_only=True,
    )
    assert graph_hits[0]["n"] == 0
    assert await org.graph.get_person(person) is None
    left = [(k, v) for k, v in await _redis_values(org, run_id) if person.encode() in k or person.encode() in v]
    assert not left, left
    assert not [b for b in await _s3_contents(org) if person.encode() in b]

    # ---- their department drops under the minimum group size: withheld ----------------------
    teams = (await api.get("/v1/metrics/teams", headers=analyst)).json()["teams"]
    shown = next(t for t in teams if t["team"] == dept)
    assert shown["withheld"] and shown["figures"] is None and shown["members"] is None, shown

    # ---- everyone else equals a fresh computation on the organisation without them -----------
    await _load(fresh, _events(data_dir, key, without=ERASED_RAW))
    erased_people = await _people(org)
    fresh_people = await _people(fresh)
    missing = [  # people whose only ties were with the erased person: known, but with no events
        PersonRow(id=p, version=1, team=v.get("team")) for p, v in erased_people.items() if p not in fresh_people
    ]
    await fresh.graph.upsert_people(missing)
    again = await refresh_metrics(fresh, trigger="test", force=True)
    assert again.status == "succeeded"
    fresh_people = await _people(fresh)
    assert set(fresh_people) == set(erased_people) and person not in erased_people
    for pid, props in fresh_people.items():
        for name in PROPS:
            if name in ("metrics_at", "metrics_run"):
                continue
            a, b = erased_people[pid].get(name), props.get(name)
            if isinstance(b, float) or isinstance(a, float):
                assert a == pytest.approx(b, rel=1e-9, abs=1e-12), (pid, name, a, b)
            else:
                assert a == b or (a in (None, 0) and b in (None, 0)), (pid, name, a, b)
