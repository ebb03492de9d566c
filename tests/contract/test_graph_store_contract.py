"""One contract every GraphStore adapter must honour: in-memory, FalkorDB *and* Neo4j (Bolt).

The ``test_contract_*`` functions are the contract. They run:

* against ``MemoryGraphStore`` (no server; the unit tier runs these same functions over it too,
  tests/unit/adapters/graph/test_memory_store.py);
* against ``FalkorDBGraphStore`` on the stack's FalkorDB (``ops/stack``), in this process;
* against ``Neo4jGraphStore`` over Bolt. The only Bolt server here is FalkorDB's experimental
  Bolt port, which listens on *all* interfaces. So ``test_neo4j_adapter_over_bolt`` starts
  ``bolt_peer.py`` under ``unshare --net`` (a private network namespace with only ``lo``): it
  starts its own FalkorDB with ``BOLT_PORT`` there and runs these same contract functions with
  ``CO_BOLT_PEER_URI`` set, and this test reports each behaviour's inner result
  (pass/fail/skip, with the inner message) one by one. Nothing outside the namespace can reach the
  Bolt listener: ``test_bolt_listener_is_not_reachable_from_the_host`` probes the
  host's addresses on that port while the listener is up.

Limits of that Bolt peer (measured, see docs/graph-store.md) that the contract stays within:
every Bolt message < ~4 KB (a 4,100-byte string parameter segfaults the server; 3,900 bytes
works) so batches are small (``BATCH``) and a guard refuses bigger statements; no date values
(``last_at`` is epoch seconds); nothing relies on rollback; ``database=`` is left unset;
errors are only checked to be ``GraphStoreError`` (the peer sends an opaque ``DatabaseError``);
its DDL is not idempotent, so the peer's ``schema=()`` and the harness creates the index once.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from shared.adapters.graph import cypher
from shared.adapters.graph.base import (
    GraphCounts,
    GraphStore,
    GraphStoreError,
    InvalidIdError,
    MetricRow,
    PersonRow,
    TieRow,
)
from shared.adapters.graph.rows import latest_people, latest_ties
from shared.platform.settings.infrastructure import FalkorDBSettings, Neo4jSettings

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
BOLT_PEER_URI = os.environ.get("CO_BOLT_PEER_URI")  # set only inside bolt_peer.py's namespace
BACKENDS = ["neo4j"] if BOLT_PEER_URI else ["memory", "falkordb"]
BATCH = 8  # rows per statement: keeps every Bolt message far below the peer's ~4 KB crash size
BOLT_MESSAGE_BUDGET = 3_000  # bytes of query + JSON-encoded parameters (PackStream is of that order)
PEER_INDEX = "CREATE INDEX FOR (p:Person) ON (p.id)"  # FalkorDB DDL, run once: it fails if repeated


def _bolt_peer_store(uri: str) -> GraphStore:
    from shared.adapters.graph.neo4j_store import Neo4jGraphStore

    class BoltPeerNeo4jStore(Neo4jGraphStore):
        """The production adapter, plus a guard that refuses statements the peer cannot survive."""

        async def execute(
            self, query: str, params: Mapping[str, Any] | None = None, *, read_only: bool = False
        ) -> list[dict[str, Any]]:
            size = len(query.encode()) + len(json.dumps(dict(params or {}), ensure_ascii=False).encode())
            if size > BOLT_MESSAGE_BUDGET:
                raise AssertionError(f"{size}-byte statement would crash FalkorDB's Bolt port (keep < ~4 KB)")
            return await super().execute(query, params, read_only=read_only)

    # no database: the peer ignores it anyway (one graph per Bolt port); a dead peer should fail
    # the test fast, not retry for 15 s
    connection = Neo4jSettings(uri=uri, max_pool_size=4, acquisition_timeout_s=5.0, max_retry_time_s=2.0)
    return BoltPeerNeo4jStore(
        connection,
        batch_size=BATCH,
        bulk_batch_size=BATCH,
        schema=(),
    )


@pytest.fixture(scope="session", params=BACKENDS)
async def session_store(request: pytest.FixtureRequest) -> AsyncIterator[GraphStore]:
    """One adapter per backend for the whole session (drivers and pools are built once)."""
    if request.param == "memory":
        from shared.adapters.graph.memory_store import MemoryGraphStore

        yield MemoryGraphStore()
        return
    if request.param == "neo4j":
        assert BOLT_PEER_URI is not None
        store = _bolt_peer_store(BOLT_PEER_URI)
        await store.execute(PEER_INDEX)  # the peer is a fresh private server: the index is new
        yield store
        await store.clear()
        await store.close()
        return
    from shared.adapters.graph.falkordb_store import FalkorDBGraphStore

    env: dict[str, str] = request.getfixturevalue("stack_env")
    run_id: str = request.getfixturevalue("run_id")
    host, port = env.get("CO_FALKORDB_HOST", "127.0.0.1"), int(env.get("CO_FALKORDB_PORT", "6380"))
    graph = f"contract_{run_id}"
    connection = FalkorDBSettings(host=host, port=port, max_connections=4)
    falkor = FalkorDBGraphStore(connection, graph_name=graph, batch_size=BATCH, bulk_batch_size=BATCH)
    await falkor.ensure_schema()
    yield falkor
    await falkor.close()
    import redis.asyncio as aioredis

    client = aioredis.Redis(host=host, port=port)
    try:
        await client.execute_command("GRAPH.DELETE", graph)
    finally:
        await client.aclose()


@pytest.fixture()
async def store(session_store: GraphStore) -> GraphStore:
    """The session's adapter on an empty graph."""
    await session_store.clear()
    return session_store


async def read_tie(store: GraphStore, src: str, dst: str) -> dict[str, Any] | None:
    rows = await store.execute(cypher.GET_TIE, {"src": src, "dst": dst}, read_only=True)
    assert len(rows) <= 1, rows
    return rows[0] if rows else None


def person_props(row: PersonRow) -> dict[str, Any]:
    """The properties an upsert of ``row`` must leave on a new node."""
    props: dict[str, Any] = {
        "id": row.id,
        "version": row.version,
        "out_weight": row.out_weight,
        "in_weight": row.in_weight,
        "out_degree": row.out_degree,
        "in_degree": row.in_degree,
        "degree": row.out_degree + row.in_degree,
        "weighted_degree": row.out_weight + row.in_weight,
    }
    if row.team is not None:
        props["team"] = row.team
    return props


# ----------------------------------------------------------------------------------- contract


async def test_contract_ping(store: GraphStore) -> None:
    await store.ping()


async def test_contract_ensure_schema_is_idempotent(store: GraphStore) -> None:
    await store.ensure_schema()
    await store.ensure_schema()
    assert await store.upsert_people([PersonRow("a", 1, team="t")]) == 1
    assert (await store.counts()).people == 1


async def test_contract_upsert_people_writes_absolute_values(store: GraphStore) -> None:
    first = PersonRow("alice", 1, team="red", out_weight=2.5, in_weight=1.0, out_degree=2, in_degree=1)
    assert await store.upsert_people([first]) == 1
    assert await store.get_person("alice") == person_props(first)

    second = PersonRow("alice", 2, team=None, out_weight=4.0, in_weight=0.0, out_degree=3, in_degree=0)
    assert await store.upsert_people([second]) == 1
    # absolute, not added to the old values; a missing team keeps the known one
    assert await store.get_person("alice") == person_props(second) | {"team": "red"}


async def test_contract_people_version_guard(store: GraphStore) -> None:
    current = PersonRow("p", 5, team="red", out_weight=5.0, out_degree=5)
    assert await store.upsert_people([current]) == 1

    assert await store.upsert_people([PersonRow("p", 3, team="old", out_weight=3.0, out_degree=3)]) == 0
    assert await store.get_person("p") == person_props(current), "a lower version overwrote a higher one"

    assert await store.upsert_people([PersonRow("p", 5, team="same", out_weight=99.0)]) == 0
    assert await store.get_person("p") == person_props(current), "an equal version was not a no-op"

    newer = PersonRow("p", 6, team="blue", out_weight=6.0, out_degree=6)
    assert await store.upsert_people([newer]) == 1
    assert await store.get_person("p") == person_props(newer)


async def test_contract_ties_version_guard_and_absolute_values(store: GraphStore) -> None:
    assert await store.upsert_ties([TieRow("a", "b", 1, weight=2.0, count=2, last_at=1_000.5)]) == 1
    assert await read_tie(store, "a", "b") == {"version": 1, "weight": 2.0, "count": 2, "last_at": 1_000.5}

    assert await store.upsert_ties([TieRow("a", "b", 3, weight=5.0, count=4, last_at=2_000.0)]) == 1
    expected = {"version": 3, "weight": 5.0, "count": 4, "last_at": 2_000.0}
    assert await read_tie(store, "a", "b") == expected  # absolute: 5.0, not 7.0

    assert await store.upsert_ties([TieRow("a", "b", 2, weight=99.0, count=99, last_at=3_000.0)]) == 0
    assert await store.upsert_ties([TieRow("a", "b", 3, weight=42.0, count=42, last_at=3_000.0)]) == 0
    assert await read_tie(store, "a", "b") == expected

    # the reverse direction is a different tie; endpoints are created by the tie upsert
    assert await store.upsert_ties([TieRow("b", "a", 1, weight=1.0, count=1)]) == 1
    assert await store.counts() == GraphCounts(people=2, ties=2, total_weight=6.0)
    assert (await store.get_person("a") or {}).get("id") == "a"


async def test_contract_duplicate_keys_in_one_batch_keep_the_highest_version(store: GraphStore) -> None:
    ties = [
        TieRow("a", "b", 2, weight=2.0, count=2),
        TieRow("a", "b", 7, weight=7.0, count=7),
        TieRow("a", "b", 3, weight=3.0, count=3),
        TieRow("b", "c", 1, weight=1.0, count=1),
    ]
    people = [PersonRow("a", 1, team="x"), PersonRow("a", 4, team="y"), PersonRow("a", 2, team="z")]
    # Checked before anything is sent: an undeduplicated batch with the same new relationship
    # twice segfaults FalkorDB (ARCHITECTURE.md), and this FalkorDB is the shared stack's.
    assert sorted((r["src"], r["dst"], r["version"]) for r in latest_ties(ties)) == [("a", "b", 7), ("b", "c", 1)]
    assert [(r["id"], r["version"]) for r in latest_people(people)] == [("a", 4)]

    assert await store.upsert_ties(ties) == 2
    assert await read_tie(store, "a", "b") == {"version": 7, "weight": 7.0, "count": 7, "last_at": 0.0}
    assert await store.upsert_people(people) == 1
    assert await store.get_person("a") == person_props(PersonRow("a", 4, team="y"))

    # duplicates spread over more rows than one batch holds
    many = [TieRow(f"s{i:02d}", f"d{i:02d}", v, weight=float(v), count=v) for v in (1, 2) for i in range(20)]
    assert await store.upsert_ties(many) == 20
    counts = await store.counts()
    assert (counts.ties, counts.total_weight) == (22, 7.0 + 1.0 + 20 * 2.0)


async def test_contract_rows_span_batches_and_redelivery_changes_nothing(store: GraphStore) -> None:
    rows = [PersonRow(f"p{i:02d}", 1, team=f"t{i % 3}", out_weight=float(i), out_degree=i) for i in range(30)]
    assert await store.upsert_people(rows) == 30  # 4 statements of BATCH rows
    assert await store.upsert_people(rows) == 0  # a redelivered batch is a no-op
    assert (await store.counts()).people == 30
    assert await store.get_person("p29") == person_props(rows[29])


async def test_contract_write_metrics_sets_properties(store: GraphStore) -> None:
    a, b = PersonRow("a", 1, team="red"), PersonRow("b", 1, team="blue")
    assert await store.upsert_people([a, b]) == 2
    applied = await store.write_metrics(
        [
            MetricRow("a", {"betweenness": 0.25, "clustering": 0.5}),
            MetricRow("a", {"meeting_count": 3}),  # merged with the row above
            MetricRow("b", {"betweenness": 0.0}),
            MetricRow("ghost", {"betweenness": 1.0}),  # unknown people are not created
        ]
    )
    assert applied == 2
    assert await store.get_person("a") == person_props(a) | {"betweenness": 0.25, "clustering": 0.5, "meeting_count": 3}
    assert await store.get_person("b") == person_props(b) | {"betweenness": 0.0}
    assert await store.get_person("ghost") is None

    assert await store.write_metrics([MetricRow("a", {"betweenness": 0.75})]) == 1
    props = await store.get_person("a") or {}
    assert (props["betweenness"], props["clustering"], props["version"]) == (0.75, 0.5, 1)


async def test_contract_snapshot_returns_exactly_what_was_written(store: GraphStore) -> None:
    empty = await store.snapshot()
    assert (empty.people, empty.edges) == ([], [])

    people = [PersonRow("a", 1, team="red"), PersonRow("b", 1, team="blue"), PersonRow("d", 1, team="green")]
    ties = [
        TieRow("a", "b", 1, weight=1.5, count=2),
        TieRow("b", "a", 1, weight=0.5, count=1),
        TieRow("b", "c", 1, weight=3.0, count=3),  # c exists only as a tie endpoint (no team)
    ]
    assert await store.upsert_people(people) == 3
    assert await store.upsert_ties(ties) == 3
    snap = await store.snapshot()
    assert sorted(snap.people, key=lambda p: p[0]) == [("a", "red"), ("b", "blue"), ("c", None), ("d", "green")]
    assert sorted((e.src, e.dst, e.weight, e.count) for e in snap.edges) == [
        ("a", "b", 1.5, 2),
        ("b", "a", 0.5, 1),
        ("b", "c", 3.0, 3),
    ]


async def test_contract_bulk_load_leaves_what_upserts_leave(store: GraphStore) -> None:
    people = [PersonRow(f"p{i:02d}", 2, team=f"t{i % 3}", out_weight=float(i), in_degree=i) for i in range(30)]
    people += [PersonRow("p00", 1, team="older"), PersonRow("solo", 3)]  # an older duplicate; no team
    ties = [TieRow(f"p{i:02d}", f"p{(i + 1) % 30:02d}", 4, weight=i + 0.5, count=i, last_at=1e9 + i) for i in range(30)]
    ties += [TieRow("p00", "p01", 3, weight=99.0, count=99), TieRow("p05", "edge-only", 1, weight=2.0, count=1)]
    counts = await store.bulk_load(people, ties)  # 4+ statements of BATCH rows each
    assert counts == GraphCounts(people=32, ties=31, total_weight=sum(i + 0.5 for i in range(30)) + 2.0)
    assert await store.counts() == counts
    for row in people[:30] + [people[31]]:
        assert await store.get_person(row.id) == person_props(row)
    assert await store.get_person("edge-only") == {"id": "edge-only"}  # as a tie upsert creates it
    assert await read_tie(store, "p00", "p01") == {"version": 4, "weight": 0.5, "count": 0, "last_at": 1e9}
    assert await read_tie(store, "p05", "edge-only") == {"version": 1, "weight": 2.0, "count": 1, "last_at": 0.0}
    # the loaded graph keeps the version rules: an older write changes nothing, a newer one applies
    assert await store.upsert_ties([TieRow("p00", "p01", 3, weight=7.0, count=7)]) == 0
    assert await store.upsert_people([PersonRow("p01", 3, team="moved")]) == 1
    assert (await store.get_person("p01") or {})["team"] == "moved"


async def test_contract_bulk_load_refuses_a_graph_that_holds_anyone(store: GraphStore) -> None:
    await store.upsert_people([PersonRow("already", 1, team="t")])
    with pytest.raises(GraphStoreError):
        await store.bulk_load([PersonRow("already", 2), PersonRow("new", 1)], [TieRow("new", "x", 1, 1.0, 1)])
    assert await store.counts() == GraphCounts(people=1, ties=0, total_weight=0.0)  # nothing duplicated or added
    assert await store.get_person("already") == person_props(PersonRow("already", 1, team="t"))
    await store.clear()
    with pytest.raises(InvalidIdError):  # unstorable ids are refused before anything is sent
        await store.bulk_load([PersonRow("fine", 1), PersonRow(" bad", 1)], [])
    assert await store.counts() == GraphCounts(people=0, ties=0, total_weight=0.0)


async def test_contract_get_person_of_unknown_id_is_none(store: GraphStore) -> None:
    assert await store.get_person("nobody") is None


async def test_contract_counts(store: GraphStore) -> None:
    assert await store.counts() == GraphCounts(people=0, ties=0, total_weight=0.0)
    await store.upsert_people([PersonRow("lonely", 1)])
    await store.upsert_ties([TieRow("a", "b", 1, weight=1.25, count=1), TieRow("b", "c", 1, weight=2.5, count=4)])
    assert await store.counts() == GraphCounts(people=4, ties=2, total_weight=3.75)


async def test_contract_clear_empties_and_the_store_stays_usable(store: GraphStore) -> None:
    await store.upsert_ties([TieRow("a", "b", 9, weight=1.0, count=1)])
    await store.clear()
    assert await store.counts() == GraphCounts(people=0, ties=0, total_weight=0.0)
    assert await store.get_person("a") is None
    snap = await store.snapshot()
    assert (snap.people, snap.edges) == ([], [])
    # versions start over after a clear (the graph is rebuilt from the ledger)
    assert await store.upsert_ties([TieRow("a", "b", 1, weight=2.0, count=2)]) == 1
    assert await store.counts() == GraphCounts(people=2, ties=1, total_weight=2.0)


async def test_contract_named_removals_delete_exactly_what_they_name(store: GraphStore) -> None:
    ties = [TieRow("a", "b", 1, weight=1.0, count=1), TieRow("b", "c", 1, weight=2.0, count=1)]
    assert await store.upsert_ties([*ties, TieRow("c", "a", 1, weight=4.0, count=1)]) == 3
    pairs = [{"src": "a", "dst": "b"}, {"src": "x", "dst": "y"}]  # one real tie, one unknown pair
    assert await store.execute(cypher.DELETE_TIES, {"pairs": pairs}) == [{"deleted": 1}]
    assert await store.counts() == GraphCounts(people=3, ties=2, total_weight=6.0)

    assert await store.execute(cypher.DELETE_PERSON, {"id": "c"}) == [{"deleted": 1}]  # and both its ties
    assert await store.counts() == GraphCounts(people=2, ties=0, total_weight=0.0)
    assert await store.get_person("c") is None
    assert await store.execute(cypher.DELETE_PERSON, {"id": "nobody"}) == [{"deleted": 0}]


async def test_contract_fingerprint_and_paged_reads(store: GraphStore) -> None:
    """The statements the metrics refresh, the Neo4j snapshot and the rekey job send."""
    empty = await store.execute(cypher.FINGERPRINT_PEOPLE, read_only=True)
    assert [(r["n"], r["v"]) for r in empty] == [(0, 0)]
    await store.upsert_people([PersonRow("a", 2, team="red"), PersonRow("b", 3, team="blue")])
    await store.upsert_ties([TieRow("a", "b", 4, weight=1.5, count=1), TieRow("b", "c", 5, weight=2.0, count=2)])
    people = await store.execute(cypher.FINGERPRINT_PEOPLE, read_only=True)
    ties = await store.execute(cypher.FINGERPRINT_TIES, read_only=True)
    assert [(r["n"], r["v"]) for r in people] == [(3, 5)]  # c exists only as an endpoint: version 0
    assert [(r["n"], r["v"], r["w"]) for r in ties] == [(2, 9, 3.5)]

    page = await store.execute(cypher.PEOPLE_PAGE, {"after": "", "limit": 2}, read_only=True)
    assert page == [{"id": "a", "team": "red"}, {"id": "b", "team": "blue"}]
    rest = await store.execute(cypher.PEOPLE_PAGE, {"after": "b", "limit": 2}, read_only=True)
    assert rest == [{"id": "c", "team": None}]
    out = await store.execute(cypher.TIES_OF_PEOPLE, {"ids": ["b", "c"]}, read_only=True)
    assert out == [{"src": "b", "dst": "c", "weight": 2.0, "count": 2}]

    everyone = await store.execute(cypher.ALL_PEOPLE, read_only=True)
    by_id = {r["props"]["id"]: r["props"] for r in everyone}
    assert sorted(by_id) == ["a", "b", "c"]
    assert by_id["a"] == person_props(PersonRow("a", 2, team="red"))
    assert by_id["c"] == {"id": "c"}


INJECTION_IDS = [
    "x'}) MATCH (n) DETACH DELETE n //",
    '"; MATCH (n) DETACH DELETE n; "',
    "$rows",
    "a\\b\nc\td",
    "名前-é-😀",
    "{id: 'x'}",
    "`p`",
    "p  x",
]

# FalkorDB 4.16.3 segfaults creating a Person with one of these ids under its unique constraint
UNSTORABLE_IDS = ["", " p", "p ", "\tp", "p\n", "  "]


# Measured: FalkorDB's Bolt port splices string parameters into query text without escaping
# ({"id": "a' x='injected", "x": "orig"} makes $id 'a' and $x 'injected'; "it's" is an error;
# "a\\b" comes back as "a\x08"). That is the peer's defect, not the adapter's: over that peer
# the contract stores every other injection-looking id; against real Neo4j it stores all of them.
PEER_MANGLED = ("'", "\\")


async def test_contract_injection_looking_ids_are_stored_verbatim(store: GraphStore) -> None:
    await store.upsert_people([PersonRow("witness", 1, team="t")])
    ids = [pid for pid in INJECTION_IDS if not (BOLT_PEER_URI and any(c in pid for c in PEER_MANGLED))]
    assert len(ids) >= 5
    rows = [PersonRow(pid, 1, team=f"team {pid}") for pid in ids]
    assert await store.upsert_people(rows) == len(rows)
    assert await store.upsert_ties([TieRow(ids[0], ids[1], 1, weight=1.0, count=1)]) == 1
    for row in rows:
        assert await store.get_person(row.id) == person_props(row)
    snap = await store.snapshot()
    assert sorted(snap.people) == sorted([("witness", "t")] + [(r.id, r.team) for r in rows])
    assert [(e.src, e.dst) for e in snap.edges] == [(ids[0], ids[1])]
    assert (await store.counts()).people == len(rows) + 1


async def test_contract_unstorable_ids_are_refused_before_anything_is_sent(store: GraphStore) -> None:
    for bad in UNSTORABLE_IDS:
        people = [PersonRow("fine", 1), PersonRow(bad, 1)]
        ties = [TieRow("fine", "other", 1, weight=1.0, count=1), TieRow("fine", bad, 1, weight=1.0, count=1)]
        # pure check first: were it missing, the adapter call below would crash the shared FalkorDB
        with pytest.raises(InvalidIdError):
            latest_people(people)
        with pytest.raises(InvalidIdError):
            latest_ties(ties)
        with pytest.raises(InvalidIdError):
            await store.upsert_people(people)
        with pytest.raises(InvalidIdError):
            await store.upsert_ties(ties)
    assert await store.counts() == GraphCounts(people=0, ties=0, total_weight=0.0)  # not even "fine"


async def test_contract_query_errors_are_graph_store_errors(store: GraphStore) -> None:
    with pytest.raises(GraphStoreError):
        await store.execute("THIS IS NOT CYPHER")
    # the adapter (and its pool) stays usable after an error
    assert await store.upsert_people([PersonRow("after", 1)]) == 1


# ------------------------------------------------------------ Neo4j adapter over isolated Bolt

CONTRACT = sorted(name for name in dict(globals()) if name.startswith("test_contract_"))


def _outcome(case: ET.Element) -> tuple[str, str]:
    for tag, outcome in (("failure", "failed"), ("error", "failed"), ("skipped", "skipped")):
        node = case.find(tag)
        if node is not None:
            return outcome, f"{node.get('message', '')}\n{node.text or ''}".strip()
    return "passed", ""


def _host_addresses() -> list[str]:
    """Loopback plus the host's own addresses (where a leaked all-interfaces listener would show)."""
    addresses = {"127.0.0.1"}
    with contextlib.suppress(OSError):
        addresses.update(socket.gethostbyname_ex(socket.gethostname())[2])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe, contextlib.suppress(OSError):
        probe.connect(("10.255.255.255", 1))  # no packet is sent; picks the outbound interface
        addresses.add(probe.getsockname()[0])
    return sorted(addresses)


def _reachable_from_host(port: int) -> list[str]:
    reached = []
    for address in _host_addresses():
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex((address, port)) == 0:
                reached.append(address)
    return reached


def _free_host_port(low: int, high: int) -> int:
    """A port nothing listens on, on any host interface, in [low, high]."""
    for port in random.sample(range(low, high + 1), 200):
        with socket.socket() as sock:
            try:
                sock.bind(("0.0.0.0", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {low}-{high}")


@dataclass
class BoltRun:
    """What the run inside the namespace reported: per-test outcomes and the isolation probe."""

    results: dict[str, tuple[str, str]]
    bolt_port: int
    probed: list[str]
    reached: list[str]


@pytest.fixture(scope="session")
def bolt_run(tmp_path_factory: pytest.TempPathFactory) -> BoltRun:
    """Run the contract against Neo4jGraphStore in a private network namespace."""
    if BOLT_PEER_URI:
        pytest.fail("already inside the Bolt peer's namespace: select -k test_contract_ here")
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("unshare (util-linux) not found: FalkorDB's all-interfaces Bolt listener cannot be isolated")
    from tests.contract.bolt_peer import MAX_BOLT_PORT

    tmp = tmp_path_factory.mktemp("bolt_peer")
    junit, log = tmp / "junit.xml", tmp / "inner.log"
    bolt_port = _free_host_port(20_000, MAX_BOLT_PORT)  # free here, so a connection here could only be a leak
    prefix = [unshare, "--net"] if os.geteuid() == 0 else [unshare, "--user", "--map-root-user", "--net"]
    with log.open("w") as err:
        proc = subprocess.Popen(
            [*prefix, sys.executable, str(HERE / "bolt_peer.py"), str(junit), str(bolt_port)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
        assert proc.stdin is not None and proc.stdout is not None
        probed: list[str] = []
        reached: list[str] = []
        lines: list[str] = []
        try:
            for line in proc.stdout:
                lines.append(line.strip())
                if line.strip() == json.dumps({"ready": True}):
                    probed, reached = _host_addresses(), _reachable_from_host(bolt_port)
                    proc.stdin.write("go\n")
                    proc.stdin.flush()
            proc.wait(timeout=400)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    inner = log.read_text(errors="replace")
    if not lines or not lines[-1].startswith("{") or "pytest_rc" not in lines[-1] and "refused" not in lines[-1]:
        if proc.returncode != 0 and "unshare" in inner:
            pytest.skip(f"cannot create a private network namespace here: {inner.strip()[-400:]}")
        pytest.fail(f"bolt_peer.py gave no verdict (exit {proc.returncode}):\n{inner[-4000:]}")
    verdict = json.loads(lines[-1])
    if "refused" in verdict:
        pytest.fail(verdict["refused"])
    if verdict["server_exit"] is not None:
        pytest.fail(
            f"FalkorDB's Bolt peer died during the contract (exit {verdict['server_exit']}):\n"
            f"{verdict['server_log_tail']}\n--- inner pytest ---\n{inner[-4000:]}"
        )
    if not junit.exists():
        pytest.fail(f"inner pytest wrote no report (exit {verdict['pytest_rc']}):\n{inner[-4000:]}")
    results = {case.get("name", ""): _outcome(case) for case in ET.parse(junit).getroot().iter("testcase")}
    return BoltRun(results=results, bolt_port=bolt_port, probed=probed, reached=reached)


@pytest.mark.parametrize("behaviour", CONTRACT)
def test_neo4j_adapter_over_bolt(behaviour: str, bolt_run: BoltRun) -> None:
    """Neo4jGraphStore honours each contract behaviour (result of the run inside the namespace)."""
    outcome, detail = bolt_run.results.get(f"{behaviour}[neo4j]", ("missing", "not reported by the inner run"))
    if outcome == "skipped":
        pytest.skip(detail)
    assert outcome == "passed", detail


def test_bolt_listener_is_not_reachable_from_the_host(bolt_run: BoltRun) -> None:
    """While the peer listened on every interface of its namespace, its port was closed here."""
    assert bolt_run.probed, "the peer never reported ready, so nothing was probed"
    assert "127.0.0.1" in bolt_run.probed
    assert bolt_run.reached == [], f"Bolt port {bolt_run.bolt_port} reachable from the host at {bolt_run.reached}"
