"""Exact-mode metrics equal networkx (an independent implementation) on real SNAP networks.

email-Eu-core (1,005 people): degree, betweenness and clustering compared in full.
email-Enron (36,692 people): degree and clustering in full; betweenness compared on 40 seeded
source people (Brandes restricted to sources, which is the exact sum's building block and the
sampled mode's estimator) against networkx's betweenness_centrality_subset, because full
networkx betweenness on Enron takes hours. The full exact-vs-sampled comparison on Enron is in
the benchmark (ops/bench_metrics.py).
"""

from __future__ import annotations

import math
import random
from pathlib import Path

import networkx as nx
import pytest

from shared.adapters.datasets import enron, eu_core, synthetic_weight
from shared.adapters.igraph_compute import betweenness_from_sources, clustering_undirected, to_igraph
from shared.domain.metrics import IndexedGraph, MetricDefinitions, index_graph, local_measures
from shared.services.metrics_refresh import compute_metrics

REL = 1e-9


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=REL, abs_tol=1e-12)


def reference_digraph(g: IndexedGraph) -> nx.DiGraph:
    ref = nx.DiGraph()
    ref.add_nodes_from(range(g.n))
    ref.add_weighted_edges_from(zip(g.src, g.dst, g.weight, strict=True))
    return ref


def build(people: dict[str, str | None], edges: list[tuple[str, str]]) -> tuple[IndexedGraph, nx.DiGraph]:
    g = index_graph(people.items(), ((a, b, synthetic_weight(a, b)) for a, b in edges))
    # the reference is built from the raw file, independently of index_graph's cleaning
    index = {pid: i for i, pid in enumerate(g.ids)}
    ref = nx.DiGraph()
    ref.add_nodes_from(range(g.n))
    for a, b in edges:
        if a != b:
            ref.add_edge(index[a], index[b], weight=synthetic_weight(a, b))
    return g, ref


def assert_degrees(g: IndexedGraph, ref: nx.DiGraph) -> None:
    local = local_measures(g, 2.0)
    for i in range(g.n):
        assert local.degree_in[i] == ref.in_degree(i)
        assert local.degree_out[i] == ref.out_degree(i)
        assert close(local.weighted_in[i], ref.in_degree(i, weight="weight"))
        assert close(local.weighted_out[i], ref.out_degree(i, weight="weight"))
        assert local.network_size[i] == len(set(ref.predecessors(i)) | set(ref.successors(i)))


def assert_clustering(g: IndexedGraph, ref: nx.DiGraph, published_average: float) -> None:
    ours = clustering_undirected(to_igraph(g))
    theirs = nx.clustering(ref.to_undirected(as_view=False))
    assert all(close(ours[i], theirs[i]) for i in range(g.n))
    # and both agree with SNAP's published average (4 decimals)
    assert round(sum(ours) / g.n, 4) == published_average


@pytest.fixture(scope="module")
def eu(data_dir: Path) -> tuple[IndexedGraph, nx.DiGraph]:
    teams, edges = eu_core(data_dir)
    return build(dict(teams), edges)


@pytest.fixture(scope="module")
def en(data_dir: Path) -> tuple[IndexedGraph, nx.DiGraph]:
    edges = enron(data_dir)
    people: dict[str, str | None] = {}
    for a, b in edges:
        people[a] = None
        people[b] = None
    return build(people, edges)


def test_eu_core_shape(eu: tuple[IndexedGraph, nx.DiGraph]) -> None:
    g, ref = eu
    assert g.n == 1005
    assert g.m == ref.number_of_edges() == 24929  # 25,571 lines minus 642 self-loops


def test_eu_core_degree(eu: tuple[IndexedGraph, nx.DiGraph]) -> None:
    assert_degrees(*eu)


def test_eu_core_clustering(eu: tuple[IndexedGraph, nx.DiGraph]) -> None:
    assert_clustering(*eu, published_average=0.3994)


def test_eu_core_betweenness_exact_equals_networkx(eu: tuple[IndexedGraph, nx.DiGraph]) -> None:
    g, ref = eu
    outcome = compute_metrics(g, MetricDefinitions(exact_max_nodes=5000), {})
    assert outcome.plan.mode == "exact"
    theirs = nx.betweenness_centrality(ref, normalized=True)
    assert max(theirs.values()) > 0.01  # a real, non-trivial comparison
    for i, row in enumerate(outcome.rows):
        assert close(row.betweenness, theirs[i]), (i, row.betweenness, theirs[i])


def test_enron_degree(en: tuple[IndexedGraph, nx.DiGraph]) -> None:
    g, ref = en
    assert g.n == 36691  # people with at least one edge (SNAP header says 36,692 ids)
    assert g.m == 367660  # 183,830 undirected pairs, both directions, no self-loops
    assert_degrees(g, ref)


def test_enron_clustering(en: tuple[IndexedGraph, nx.DiGraph]) -> None:
    assert_clustering(*en, published_average=0.4970)


def test_enron_betweenness_from_sampled_sources_equals_networkx(en: tuple[IndexedGraph, nx.DiGraph]) -> None:
    g, ref = en
    sources = sorted(random.Random(7).sample(range(g.n), 40))
    ours = betweenness_from_sources(to_igraph(g), sources)
    theirs = nx.betweenness_centrality_subset(ref, sources=sources, targets=list(ref.nodes), normalized=False)
    assert sum(1 for v in ours if v > 0) > 1000  # many people lie on those sources' paths
    for i in range(g.n):
        assert close(ours[i], theirs[i]), (i, ours[i], theirs[i])
