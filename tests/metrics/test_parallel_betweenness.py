"""Exact betweenness on the compiled kernel's threads equals igraph and networkx; the plan
picks exact whenever it fits the budget and otherwise reports a (epsilon, delta) bound that
the sampled estimate respects."""

from __future__ import annotations

import math
import random
from pathlib import Path

import networkx as nx
import pytest

from shared.adapters.brandes import brandes_betweenness, fold_plan
from shared.adapters.datasets import eu_core, synthetic_weight
from shared.adapters.igraph_compute import betweenness_from_sources, betweenness_split, to_igraph
from shared.domain.betweenness import available_capacity, normalise_betweenness, plan_betweenness, sampling_error_bound
from shared.domain.metrics import IndexedGraph, index_graph


@pytest.fixture(scope="module")
def eu(data_dir: Path) -> IndexedGraph:
    teams, edges = eu_core(data_dir)
    return index_graph(teams.items(), ((a, b, synthetic_weight(a, b)) for a, b in edges))


def test_kernel_on_two_threads_equals_igraph(eu: IndexedGraph) -> None:
    single = betweenness_from_sources(to_igraph(eu), None)
    split = betweenness_split(eu, None, workers=2, min_work=0)  # force the kernel on a small graph
    assert max(single) > 1000
    assert all(math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9) for a, b in zip(single, split, strict=True))


def _pendant_digraph(seed: int) -> nx.DiGraph:
    """A random digraph plus one-out-arc sources (some reciprocated, some chained) and a self-loop."""
    rng = random.Random(seed)
    g = nx.gnp_random_graph(rng.randint(3, 40), rng.uniform(0.03, 0.3), seed=seed, directed=True)
    for _ in range(rng.randint(1, 8)):
        p, u = g.number_of_nodes(), rng.randrange(g.number_of_nodes())
        g.add_edge(p, u)
        if rng.random() < 0.5:
            g.add_edge(u, p)
    g.add_edge(0, 0)
    return g


@pytest.mark.parametrize("seed", range(24))
def test_kernel_with_folded_sources_equals_networkx(seed: int) -> None:
    g = _pendant_digraph(seed)
    n, arcs = g.number_of_nodes(), list(g.edges())
    sources = None if seed % 2 == 0 else sorted(random.Random(seed).sample(range(n), max(1, n // 3)))
    if sources is None:
        expected = nx.betweenness_centrality(g, normalized=False)
    else:
        expected = nx.betweenness_centrality_subset(g, sources=sources, targets=list(g), normalized=False)
    ours = brandes_betweenness(n, [a for a, _ in arcs], [b for _, b in arcs], sources, workers=1 + seed % 3)
    assert all(math.isclose(expected[v], ours[v], rel_tol=1e-9, abs_tol=1e-9) for v in range(n))


def test_fold_plan_folds_one_out_arc_sources_into_their_hub() -> None:
    # 1 -> 0 and 2 -> 0 fold into 0; 3 -> 4 -> 0 is a chain: 4 has one out-arc, so 3 stays a root
    src, dst = [0, 0, 1, 2, 3, 4], [1, 2, 0, 0, 4, 0]
    _, _, roots, own, pend_ptr, pend = fold_plan(5, src, dst, None)
    assert roots.tolist() == [0, 3]
    assert own.tolist() == [1.0, 0.0, 0.0, 1.0, 0.0]
    assert sorted(pend[pend_ptr[0] : pend_ptr[1]].tolist()) == [1, 2, 4]


def test_plan_uses_exact_when_it_fits_the_budget() -> None:
    enron_n, enron_m = 36_691, 367_660  # 171 s of exact work on one core at 12.7 ns
    idle_two_cores = available_capacity(workers=2, cores=2, load_average=0.5)
    assert idle_two_cores == 2.0
    # igraph's 12.7 ns on 2 idle cores: ~86 s, over the 45 s budget; 4 idle cores: ~43 s, exact
    for capacity, mode in ((2.0, "sampled"), (4.0, "exact")):
        plan = plan_betweenness(
            enron_n, 5000, 4096, 42, m=enron_m, capacity=capacity, exact_budget_s=45.0, cost_ns=12.7
        )
        assert plan.mode == mode
    # the compiled kernel's default 6.5 ns (88 CPU-s measured): 2 idle cores fit, ~44 s
    assert plan_betweenness(enron_n, 5000, 4096, 42, m=enron_m, capacity=2.0, exact_budget_s=45.0).mode == "exact"
    fast = plan_betweenness(enron_n, 5000, 4096, 42, m=enron_m, capacity=2.0, exact_budget_s=45.0, cost_ns=6.2)
    assert fast.mode == "exact"  # at the uncontended 83 s, two cores fit
    assert plan_betweenness(enron_n, 5000, 4096, 42, m=enron_m, capacity=2.0, exact_budget_s=0.0).mode == "sampled"
    # the shared machine at load 14: each worker gets a seventh of a core, exact no longer fits
    busy = available_capacity(workers=2, cores=2, load_average=14.0)
    assert busy == 2 * 2 / 14
    slow = plan_betweenness(enron_n, 5000, 4096, 42, m=enron_m, capacity=busy, exact_budget_s=45.0, cost_ns=6.2)
    assert slow.mode == "sampled"
    assert available_capacity(workers=8, cores=2, load_average=1.0) == 2.0  # more workers than cores: no gain


def test_sampled_plan_reports_a_bound_that_holds(eu: IndexedGraph) -> None:
    bound = sampling_error_bound(36_691, 4096, 0.05)
    assert math.isclose(bound, (36_691 / 36_690) * math.sqrt(math.log(2 * 36_691 / 0.05) / 8192))
    plan = plan_betweenness(eu.n, 100, 200, 42)
    assert plan.mode == "sampled" and plan.epsilon == sampling_error_bound(eu.n, 200, 0.05) and plan.delta == 0.05
    assert plan.error_bound() == {"mode": "sampled", "epsilon": plan.epsilon, "delta": 0.05, "pivots": 200.0}
    graph = to_igraph(eu)
    exact = normalise_betweenness(betweenness_from_sources(graph, None), eu.n)
    estimate = normalise_betweenness(betweenness_from_sources(graph, plan.sources), eu.n, plan.scale)
    worst = max(abs(a - b) for a, b in zip(exact, estimate, strict=True))
    assert 0 < worst < plan.epsilon
    assert plan_betweenness(eu.n, 5000, 200, 42).error_bound() == {"mode": "exact", "epsilon": 0.0, "delta": 0.0}
