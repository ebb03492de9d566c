"""The metrics refresh's graph side over the in-memory graph store (no server): the fingerprint
that lets a refresh skip an unchanged graph, and snapshot -> compute -> write-back."""

from __future__ import annotations

from shared.adapters.graph.base import MetricRow, PersonRow, TieRow
from shared.adapters.graph.memory_store import MemoryGraphStore
from shared.domain.metrics import LastRun, index_graph, skip_reason
from shared.platform.settings import load_settings
from shared.services.metrics_refresh import compute_metrics, definitions_from, graph_fingerprint

STAR = [TieRow("hub", f"leaf{i}", 1, weight=1.0, count=1) for i in range(4)] + [
    TieRow(f"leaf{i}", "hub", 1, weight=1.0, count=1) for i in range(4)
]


async def test_the_fingerprint_moves_with_every_ingest_write_and_only_then() -> None:
    graph = MemoryGraphStore()
    empty = await graph_fingerprint(graph)
    await graph.upsert_ties(STAR)
    after_ties = await graph_fingerprint(graph)
    assert after_ties != empty

    await graph.upsert_ties(STAR)  # a redelivered batch changes nothing...
    assert await graph_fingerprint(graph) == after_ties
    await graph.write_metrics([MetricRow("hub", {"betweenness": 0.5})])  # ...nor does the refresh's own write
    assert await graph_fingerprint(graph) == after_ties
    # so the next refresh is skipped while the graph is unchanged and recent
    assert skip_reason(after_ties, LastRun(after_ties, 1_000.0), 1_010.0, 3_600) == "unchanged since the last refresh"

    await graph.upsert_people([PersonRow("hub", 2, team="red")])
    moved = await graph_fingerprint(graph)
    assert moved != after_ties
    assert skip_reason(moved, LastRun(after_ties, 1_000.0), 1_010.0, 3_600) is None

    await graph.upsert_ties([TieRow("hub", "leaf0", 2, weight=1.0, count=1)])  # same weight, higher version
    assert await graph_fingerprint(graph) != moved


async def test_snapshot_compute_and_write_back_on_a_star() -> None:
    graph = MemoryGraphStore()
    await graph.upsert_people(
        [PersonRow("hub", 1, team="red")] + [PersonRow(f"leaf{i}", 1, team="blue") for i in range(4)]
    )
    await graph.upsert_ties(STAR)
    snap = await graph.snapshot()
    g = index_graph(snap.people, ((e.src, e.dst, e.weight) for e in snap.edges))
    defs = definitions_from(load_settings(environment="test", metrics_betweenness_workers=1))
    outcome = compute_metrics(g, defs, {})
    assert outcome.plan.mode == "exact"
    by_id = {r.employee: r for r in outcome.rows}
    assert by_id["hub"].betweenness == 1.0  # every leaf-to-leaf shortest path crosses the hub
    assert all(by_id[f"leaf{i}"].betweenness == 0.0 for i in range(4))
    assert outcome.reciprocity == 1.0

    written = await graph.write_metrics([MetricRow(r.employee, r.node_values(7, 1_000.0)) for r in outcome.rows])
    assert written == 5
    hub = await graph.get_person("hub") or {}
    assert (hub["betweenness"], hub["team"], hub["version"]) == (1.0, "red", 1)  # ingest fields kept
