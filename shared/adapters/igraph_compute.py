"""The compiled-library part of the metrics: betweenness and clustering with igraph.

igraph measured fastest here (see ARCHITECTURE.md: 2K/40K betweenness 0.75 s, clustering
0.02 s at 20K). It has no pivot sampling of its own, but its betweenness accepts a ``sources``
subset: Brandes restricted to those sources is exactly the sum the pivot estimator needs, so
sampled mode is igraph's C loop over k sources, scaled by n/k (shared.domain.metrics).
``cutoff`` would be a different (biased) estimator and is not used.

Large graphs (above ``SPLIT_MIN_WORK`` people x ties) go to :mod:`shared.adapters.brandes`
instead: the same exact sums with less work per source, on ``workers`` threads (igraph's
``sources=`` split over processes did not lower the total: email-Enron 190 CPU-s either way).

igraph is imported lazily (cold start of functions that never compute).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from shared.adapters.brandes import brandes_betweenness
from shared.domain.betweenness import BetweennessPlan
from shared.domain.metrics import IndexedGraph


@dataclass(frozen=True)
class StructuralResult:
    betweenness_raw: list[float]  # unnormalised sums over the plan's sources (before scaling)
    clustering: list[float]
    average_clustering: float
    reciprocity: float


def to_igraph(g: IndexedGraph) -> Any:
    import igraph as ig

    graph = ig.Graph(n=g.n, edges=list(zip(g.src, g.dst, strict=True)), directed=True)
    graph.es["weight"] = g.weight
    return graph


def betweenness_from_sources(graph: Any, sources: Sequence[int] | None) -> list[float]:
    """Directed, unweighted Brandes sums over ``sources`` (all people when None), unnormalised."""
    if graph.vcount() == 0:
        return []
    if sources is None:
        return [float(v) for v in graph.betweenness(directed=True)]
    return [float(v) for v in graph.betweenness(directed=True, sources=list(sources))]


# below this many people x ties (~3 s of Brandes on one core) igraph in this process is cheaper
# than loading the compiled kernel and starting threads
SPLIT_MIN_WORK = 500_000_000


def betweenness_split(
    g: IndexedGraph, sources: Sequence[int] | None, workers: int, min_work: int = SPLIT_MIN_WORK
) -> list[float]:
    """Directed, unweighted Brandes sums over ``sources`` (all when None) on ``workers`` threads
    (igraph in this process when the graph is smaller than ``min_work`` people x ties)."""
    if g.n * g.m < min_work or g.n == 0:
        return betweenness_from_sources(to_igraph(g), sources)
    return brandes_betweenness(g.n, g.src, g.dst, sources, workers)


def clustering_undirected(graph: Any) -> list[float]:
    """Local clustering on the undirected simple graph; fewer than two neighbours -> 0."""
    if graph.vcount() == 0:
        return []
    simple = graph.as_undirected(mode="collapse")
    return [float(v) for v in simple.transitivity_local_undirected(mode="zero")]


def compute_structural(g: IndexedGraph, plan: BetweennessPlan, workers: int = 1) -> StructuralResult:
    graph = to_igraph(g)
    raw = betweenness_split(g, plan.sources, workers)
    clustering = clustering_undirected(graph)
    reciprocity = float(graph.reciprocity(ignore_loops=True)) if graph.ecount() else 0.0
    avg = sum(clustering) / len(clustering) if clustering else 0.0
    return StructuralResult(raw, clustering, avg, reciprocity)
