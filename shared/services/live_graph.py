"""What the hourly refresh's live values are computed on: by default the rolling window of the
ledger's raw interactions, weighed by the tie rules exactly like a period (docs/metrics.md,
"The graph the metrics are computed on"); ``cumulative`` reads the graph store's running totals.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from shared.adapters.graph import cypher
from shared.adapters.postgres.window_ledger import build_period_graph
from shared.domain.metrics import EmployeeMetrics, IndexedGraph, index_graph
from shared.domain.periods import rolling_window
from shared.domain.tie_weights import TieRules
from shared.platform.resources import Resources
from shared.platform.settings import Settings


def tie_rules_from(settings: Settings) -> TieRules:
    return TieRules(
        broadcast_min_size=settings.metrics.broadcast_min_size,
        broadcast_weight=settings.metrics.broadcast_weight,
        min_evidence=settings.metrics.tie_min_evidence,
    )


@dataclass
class LiveGraph:
    """What the live values are computed on, and who is known but silent in it."""

    graph: IndexedGraph
    silent: list[tuple[str, str | None]]  # people in the store with no interaction in the window
    reading: dict[str, Any]  # {"reading": "window", "start", "end"} or {"reading": "cumulative"}


LiveReading = Literal["window", "cumulative"]


async def live_graph(resources: Resources, at: datetime, reading: LiveReading) -> LiveGraph:
    """The window reading (default) is the last ``metrics_window_days`` of the ledger's raw
    interactions with the tie rules, the same graph a period of that interval gets; the
    cumulative one is the store's running totals (docs/metrics.md says where each is right)."""
    settings = resources.settings
    if reading == "cumulative":
        snap = await resources.graph.snapshot()
        g = index_graph(snap.people, ((e.src, e.dst, e.weight) for e in snap.edges))
        return LiveGraph(g, [], {"reading": "cumulative"})
    window = rolling_window(at, settings.metrics.window_days)
    built = await build_period_graph(resources.pg, window, tie_rules_from(settings))
    active = set(built.graph.ids)
    known = await resources.graph.execute(cypher.SNAPSHOT_PEOPLE, read_only=True)
    silent = sorted((r["id"], r["team"]) for r in known if r["id"] not in active)
    span = {"reading": "window", "start": window.start.isoformat(), "end": window.end.isoformat()}
    return LiveGraph(built.graph, silent, span)


def silent_metrics(person: str, team: str | None) -> EmployeeMetrics:
    """A person with no interaction in the window: no ties, no brokerage, no closure, now."""
    return EmployeeMetrics(person, team, 0, 0, 0.0, 0.0, 0.0, 0.0, None, None, 0.0, 0, 0, 0)
