"""The compiled-library part of the metrics: betweenness and clustering with igraph.

igraph measured fastest here (see ARCHITECTURE.md: 2K/40K betweenness 0.75 s, clustering
0.02 s at 20K). It has no pivot sampling of its own, but its betweenness accepts a ``sources``
subset: Brandes restricted to those sources is exactly the sum the pivot estimator needs, so
sampled mode is igraph's C loop over k sources, scaled by n/k (shared.domain.metrics).
``cutoff`` would be a different (biased) estimator and is not used.

Exact Brandes is a sum over sources, so it splits: :func:`betweenness_split` hands each of
``workers`` processes (spawned fresh: no fork of a threaded, event-looped parent) a round-robin
share of the sources, each runs igraph on its share, and the unnormalised sums are added. One
process per core: on this 2-core machine email-Enron's exact betweenness takes about half the
single-process time (docs/benchmarks.md).

igraph is imported lazily (cold start of functions that never compute).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

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


# below this many people x ties (~3 s of Brandes on one core) spawning workers costs more
# than it saves (each re-imports igraph and rebuilds the graph)
SPLIT_MIN_WORK = 500_000_000


def _betweenness_chunk(n: int, src: list[int], dst: list[int], sources: list[int]) -> list[float]:
    """Worker side: rebuild the graph and run Brandes from ``sources`` only."""
    import igraph as ig

    graph = ig.Graph(n=n, edges=list(zip(src, dst, strict=True)), directed=True)
    return [float(v) for v in graph.betweenness(directed=True, sources=sources)]


def split_sources(sources: Sequence[int], parts: int) -> list[list[int]]:
    """Round-robin shares (sources are in id order; interleaving balances expensive ones)."""
    parts = max(1, min(parts, len(sources)))
    return [list(sources[i::parts]) for i in range(parts)]


def betweenness_split(
    g: IndexedGraph, sources: Sequence[int] | None, workers: int, min_work: int = SPLIT_MIN_WORK
) -> list[float]:
    """Directed, unweighted Brandes sums over ``sources`` (all when None) on ``workers`` processes
    (in this process when the graph is smaller than ``min_work`` people x ties)."""
    chosen = list(range(g.n)) if sources is None else list(sources)
    if workers <= 1 or g.n * g.m < min_work or len(chosen) < 2:
        return betweenness_from_sources(to_igraph(g), sources)
    shares = split_sources(chosen, workers)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=len(shares), mp_context=context) as pool:
        futures = [pool.submit(_betweenness_chunk, g.n, g.src, g.dst, share) for share in shares]
        parts = [f.result() for f in futures]
    return [sum(values) for values in zip(*parts, strict=True)]


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
