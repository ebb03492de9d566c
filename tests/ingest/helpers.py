"""Shared helpers for ingestion tests: real email-Eu-core events, independently computed totals, a
pipeline (stream, dead-letter stream, graph) of a test's own over an emptied ledger, and the check
that a graph holds exactly the expected totals."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from shared.adapters.datasets import eu_core_temporal
from shared.adapters.graph import build_graph_store
from shared.adapters.graph.base import GraphStore
from shared.domain.events import InteractionEvent, validation_context
from shared.domain.privacy import pseudonymise
from shared.platform.resources import Resources
from shared.platform.settings import Settings

SPAN_S = 150 * 86_400


@dataclass
class Expected:
    pair_counts: Counter[tuple[str, str]]
    out_degree: Counter[str]
    in_degree: Counter[str]
    out_weight: Counter[str]
    in_weight: Counter[str]


def eu_core_events(data_dir: Path, limit: int, now: datetime | None = None) -> list[InteractionEvent]:
    """The first ``limit`` real emails (self-loops skipped), timestamps mapped into the last 80 days."""
    now = now or datetime.now(UTC)
    start = now - timedelta(days=80)
    context = validation_context(now, 90)
    events: list[InteractionEvent] = []
    for line_no, (src, dst, seconds) in enumerate(eu_core_temporal(data_dir)):
        if len(events) >= limit:
            break
        if src == dst:
            continue
        at = start + timedelta(seconds=seconds * (80 * 86_400) / SPAN_S)
        events.append(
            InteractionEvent.model_validate(
                {
                    "event_id": f"eu-{line_no}",
                    "kind": "email",
                    "actor": f"emp{src}@eu.example",
                    "participants": [f"emp{dst}@eu.example"],
                    "occurred_at": at.isoformat(),
                },
                context=context,
            )
        )
    return events


def expected_totals(events: list[InteractionEvent], key: bytes) -> Expected:
    """Totals computed straight from the input, independently of the ledger code."""
    pairs: Counter[tuple[str, str]] = Counter()
    for ev in events:
        a = pseudonymise(ev.actor, key)
        for p in ev.participants:
            pairs[(a, pseudonymise(p, key))] += 1
    out_degree: Counter[str] = Counter()
    in_degree: Counter[str] = Counter()
    out_weight: Counter[str] = Counter()
    in_weight: Counter[str] = Counter()
    for (s, d), n in pairs.items():
        out_degree[s] += 1
        in_degree[d] += 1
        out_weight[s] += n
        in_weight[d] += n
    return Expected(pairs, out_degree, in_degree, out_weight, in_weight)


async def reset_ledger(resources: Resources) -> None:
    async with resources.pg.acquire() as conn:
        await conn.execute("TRUNCATE event_receipts, interactions, pair_totals, person_totals")


async def assert_graph_matches(graph: GraphStore, expected: Expected) -> None:
    snap = await graph.snapshot()
    weights = {(e.src, e.dst): e.weight for e in snap.edges}
    counts = {(e.src, e.dst): e.count for e in snap.edges}
    assert len(weights) == len(expected.pair_counts)
    assert weights == {k: float(v) for k, v in expected.pair_counts.items()}
    assert counts == dict(expected.pair_counts)
    people = await graph.execute(
        "MATCH (p:Person) RETURN p.id AS id, p.out_degree AS od, p.in_degree AS idg, "
        "p.out_weight AS ow, p.in_weight AS iw",
        read_only=True,
    )
    by_id = {r["id"]: r for r in people}
    everyone = set(expected.out_degree) | set(expected.in_degree)
    assert set(by_id) == everyone
    for pid in everyone:
        row = by_id[pid]
        assert (row["od"], row["idg"]) == (expected.out_degree[pid], expected.in_degree[pid]), pid
        assert (row["ow"], row["iw"]) == (float(expected.out_weight[pid]), float(expected.in_weight[pid])), pid


async def scoped_pipeline(
    settings: Settings, resources: Resources, run_id: str, name: str, **extra: Any
) -> tuple[Settings, GraphStore]:
    """Settings with this test's own stream, dead-letter stream and graph (``name``), over an emptied
    ledger, and that graph's store with its schema."""
    scoped = settings.replace(
        **{
            "stream_name": f"test:{run_id}:{name}",
            "dead_letter_stream": f"test:{run_id}:{name}:dead",
            "graph_name": f"test_{run_id}_{name}",
            **extra,
        }
    )
    await reset_ledger(resources)
    graph = build_graph_store(scoped)
    await graph.ensure_schema()
    return scoped, graph
