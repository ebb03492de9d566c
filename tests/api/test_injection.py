"""Injection payloads in string fields reach the stores as data, never as query text.

Each payload goes through the real adapters (parameterised Cypher on FalkorDB, parameterised SQL
on PostgreSQL), is read back verbatim, and the rest of the data is still there afterwards.
Over HTTP, identifier-shaped fields refuse them before any store is touched.
"""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from shared.adapters.graph.base import PersonRow, TieRow
from shared.adapters.postgres.ledger import apply_events
from shared.domain.events import StoredEvent
from shared.platform.resources import Resources
from tests.api.conftest import Mint, bearer

PAYLOADS = [
    'x"}) MATCH (n) DETACH DELETE n //',
    "x'}) MATCH (n) DETACH DELETE n //",
    "'; DROP TABLE person_totals; --",
    "x' OR '1'='1",
    "$1); DELETE FROM event_receipts; --",
    "} RETURN 1 UNION MATCH (n) DETACH DELETE n //",
    "\\'); CALL db.clear() //",
    "${id}",
    "Robert'); DROP TABLE interactions;-- ß∂ƒ😀",
]


async def test_graph_stores_payloads_verbatim_and_stays_intact(resources: Resources) -> None:
    graph = resources.graph
    sentinel = f"sentinel-{uuid.uuid4().hex[:6]}"
    await graph.upsert_people([PersonRow(id=sentinel, version=1, team="keep")])
    before = await graph.counts()
    rows = [PersonRow(id=p, version=1, team=p) for p in PAYLOADS]
    await graph.upsert_people(rows)
    await graph.upsert_ties([TieRow(src=PAYLOADS[0], dst=PAYLOADS[1], version=1, weight=1.5, count=1)])
    for payload in PAYLOADS:
        props = await graph.get_person(payload)
        assert props is not None, payload
        assert props["id"] == payload and props["team"] == payload
    after = await graph.counts()
    assert after.people == before.people + len(PAYLOADS)
    assert after.ties == before.ties + 1
    assert (await graph.get_person(sentinel)) is not None
    rows_back = await graph.execute(
        "MATCH (p:Person) WHERE p.id IN $ids RETURN p.id AS id", {"ids": PAYLOADS}, read_only=True
    )
    assert sorted(r["id"] for r in rows_back) == sorted(PAYLOADS)


async def test_postgres_stores_payloads_verbatim_and_stays_intact(resources: Resources) -> None:
    async with resources.pg.acquire() as conn:
        tables_before = {
            r["tablename"] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }
        receipts_before = await conn.fetchval("SELECT count(*) FROM event_receipts")
        events = [
            StoredEvent(
                event_id=f"inj-{i}-{uuid.uuid4().hex[:8]}",
                kind="email",
                actor=payload,
                participants=[PAYLOADS[(i + 1) % len(PAYLOADS)]],
                occurred_at=time.time() - 60,
                teams={payload: payload[:64]},
            )
            for i, payload in enumerate(PAYLOADS)
        ]
        applied = await apply_events(conn, events)
        assert applied.new_events == len(PAYLOADS)
        stored = {
            r["person"]
            for r in await conn.fetch("SELECT person FROM person_totals WHERE person = ANY($1::text[])", PAYLOADS)
        }
        assert stored == set(PAYLOADS)
        srcs = {
            r["src"]
            for r in await conn.fetch(
                "SELECT src FROM interactions WHERE event_id = ANY($1::text[])", [e.event_id for e in events]
            )
        }
        assert srcs == set(PAYLOADS)
        tables_after = {
            r["tablename"] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }
        assert tables_after == tables_before
        assert await conn.fetchval("SELECT count(*) FROM event_receipts") == receipts_before + len(PAYLOADS)


@pytest.mark.parametrize("payload", PAYLOADS)
async def test_http_identifiers_refuse_payloads_before_the_store(
    payload: str, dev_client: httpx.AsyncClient, mint: Mint
) -> None:
    from urllib.parse import quote

    r = await dev_client.get(f"/v1/employees/{quote(payload, safe='')}/metrics", headers=bearer(mint("analyst")))
    assert r.status_code in (404, 422), r.text  # 404 only if the router cannot even match the path
    assert r.json()["error"]["code"] in ("validation_error", "not_found")
