"""Pseudonym re-key through the CLI's use case: after rotation every stored pseudonym is under the
new key, metrics and totals are unchanged apart from the identifiers, the audit chain verifies,
and a rotation that cannot map everyone changes nothing."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shared.adapters.datasets import eu_core_departments, eu_core_edges
from shared.adapters.postgres import audit_chain
from shared.adapters.postgres.ledger import apply_events
from shared.domain.events import InteractionEvent, InteractionKind
from shared.domain.metrics import MATERIALISED_PROPERTIES
from shared.domain.privacy import pseudonymise
from shared.platform.resources import Needs, Resources
from shared.platform.settings import Settings
from shared.services import audit
from shared.services.metrics_refresh import refresh_metrics
from shared.services.rekey import RekeyRefused, run_rekey
from tests.privacy.conftest import own_org, plant_wellbeing

OLD, NEW = b"old-key-for-the-rekey-test", b"new-key-for-the-rekey-test"
EDGES = 3000  # the first emails of email-Eu-core
PSEUDONYM = re.compile(r"p_[0-9a-f]{32}")


@pytest.fixture(scope="module")
async def kres(settings: Settings, stack_env: dict[str, str], run_id: str) -> AsyncIterator[Resources]:
    needs = Needs(graph=True, redis=True, pg=True, s3=True)
    async with own_org(
        settings, stack_env, run_id, "rekey", needs, graph_build_key=f"test:{run_id}:rekey:graph-build"
    ) as res:
        yield res


def _raw_people(data_dir: Path) -> tuple[list[str], list[tuple[str, str]]]:
    edges = [(a, b) for a, b in list(eu_core_edges(data_dir))[:EDGES] if a != b]
    people = sorted({f"eu-core:{p}" for e in edges for p in e})
    return people, edges


async def _snapshot(res: Resources) -> dict[str, Any]:
    """Everything keyed by a pseudonym, as comparable values."""
    async with res.pg.acquire() as conn:
        pairs = {
            (r[0], r[1]): tuple(r)[2:] for r in await conn.fetch("SELECT src, dst, weight, count FROM pair_totals")
        }
        people = {
            r[0]: tuple(r)[1:]
            for r in await conn.fetch("SELECT person, out_weight, in_weight, team FROM person_totals")
        }
        history = {
            (r[0], r[1]): tuple(r)[2:]
            for r in await conn.fetch("SELECT employee, time, betweenness, clustering, degree_in FROM employee_metrics")
        }
        outcomes = {r[0]: r[1] for r in await conn.fetch("SELECT employee, value FROM outcomes")}
    nodes = await res.graph.execute("MATCH (p:Person) RETURN properties(p) AS props", read_only=True)
    graph = {
        n["props"]["id"]: tuple(n["props"].get(k) for k in (*MATERIALISED_PROPERTIES, "in_weight", "team"))
        for n in nodes
    }
    return {"pairs": pairs, "people": people, "history": history, "outcomes": outcomes, "graph": graph}


def _renamed(snapshot: dict[str, Any], table: dict[str, str]) -> dict[str, Any]:
    def key(k: Any) -> Any:
        if isinstance(k, tuple):
            return tuple(table.get(x, x) if isinstance(x, str) else x for x in k)
        return table.get(k, k)

    return {name: {key(k): v for k, v in rows.items()} for name, rows in snapshot.items()}


async def test_rekey_moves_every_pseudonym_and_changes_nothing_else(kres: Resources, data_dir: Path) -> None:
    raw, edges = _raw_people(data_dir)
    departments = eu_core_departments(data_dir)
    end = datetime.now(UTC) - timedelta(hours=1)
    events = []
    for n, (a, b) in enumerate(edges):
        actor, other = f"eu-core:{a}", f"eu-core:{b}"
        events.append(
            InteractionEvent.model_construct(
                event_id=f"rk-{n}",
                kind=InteractionKind.EMAIL,
                actor=actor,
                participants=[other],
                occurred_at=end - timedelta(minutes=n),
                duration_s=None,
                teams={actor: f"dept-{departments[a]}", other: f"dept-{departments[b]}"},
            ).pseudonymised(OLD)
        )
    async with kres.pg.acquire() as conn:
        applied = await apply_events(conn, events)
    await kres.graph.upsert_ties(applied.ties)
    await kres.graph.upsert_people(applied.people)
    assert (await refresh_metrics(kres, trigger="test", force=True)).status == "succeeded"
    someone = pseudonymise(raw[0], OLD)
    await plant_wellbeing(kres.pg, someone, 4)
    async with kres.pg.acquire() as conn:
        await conn.execute(
            """INSERT INTO exports (id, kind, params, requested_by, roles, status)
               VALUES (gen_random_uuid(), 'employee_history', jsonb_build_object('employee', $1::text),
                       'a', '{analyst}', 'succeeded')""",
            someone,
        )
    await audit.record(
        kres.pg, kres.settings.audit.key, event="test.targeted", actor="t", subject="test:rk",
        details={}, personal={"targets": [someone]}, people=[someone],
    )  # fmt: skip
    before = await _snapshot(kres)

    # a directory missing someone: refused, nothing changed
    with pytest.raises(RekeyRefused, match="not in the directory"):
        await run_rekey(kres, raw[1:], OLD, NEW)
    assert await _snapshot(kres) == before

    report = await run_rekey(kres, raw, OLD, NEW)
    assert report.mapped_people == len(raw) and report.old_pseudonyms_left == 0
    assert report.rows["interactions"] == 2 * len(edges) and report.audit_payloads_rekeyed == 1
    table = {pseudonymise(r, OLD): pseudonymise(r, NEW) for r in raw}
    after = await _snapshot(kres)
    assert after == _renamed(before, table)  # same values, new identifiers

    # every pseudonym stored anywhere is under the new key; the audit chain verifies
    new_ids = set(table.values())
    async with kres.pg.acquire() as conn:
        tables = await conn.fetch(
            """SELECT format('%I.%I', n.nspname, c.relname) AS name FROM pg_class c
               JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')"""
        )
        stored: set[str] = set()
        for t in tables:
            for r in await conn.fetch(f"SELECT x::text AS row FROM {t['name']} x WHERE x::text ~ 'p_[0-9a-f]{{32}}'"):
                stored.update(PSEUDONYM.findall(r["row"]))
        verified = await audit_chain.verify(conn, kres.settings.audit.key or b"")
        personal = await conn.fetchval("SELECT payload::text FROM intervention_audit_personal")
    assert stored and stored <= new_ids, sorted(stored - new_ids)[:5]
    assert verified.ok and verified.personal_erased == 1, verified
    assert table[someone] in personal and someone not in personal
    nodes = await kres.graph.execute("MATCH (p:Person) RETURN p.id AS id", read_only=True)
    assert {n["id"] for n in nodes} <= new_ids

    # resumable: running the same rotation again (say after a crash past the commit) maps nothing
    # and leaves everything as it is
    again = await run_rekey(kres, raw, OLD, NEW)
    assert again.rows["interactions"] == 0 and again.old_pseudonyms_left == 0
    assert await _snapshot(kres) == after
    with pytest.raises(RekeyRefused, match="same"):
        await run_rekey(kres, raw, NEW, NEW)
