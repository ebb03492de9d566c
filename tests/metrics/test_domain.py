"""Pure metric rules: sampling plan, sampled-mode error, refresh skip rule, team withholding,
the after-hours rule, and the organisational measures on a hand-checked graph."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.adapters.datasets import eu_core
from shared.adapters.igraph_compute import betweenness_from_sources, to_igraph
from shared.domain.betweenness import normalise_betweenness, plan_betweenness, sample_error
from shared.domain.metrics import (
    EmployeeMetrics,
    LastRun,
    MetricDefinitions,
    index_graph,
    is_after_hours,
    local_measures,
    skip_reason,
)
from shared.domain.team_metrics import most_overloaded, team_summaries
from shared.services.metrics_refresh import compute_metrics


def test_plan_is_exact_below_threshold_and_seeded_above() -> None:
    assert plan_betweenness(100, 100, 10, 1).mode == "exact"
    assert plan_betweenness(101, 100, 200, 1).mode == "exact"  # more pivots than people: exact
    a, b, c = (
        plan_betweenness(1000, 100, 50, 1),
        plan_betweenness(1000, 100, 50, 1),
        plan_betweenness(1000, 100, 50, 2),
    )
    assert a.mode == "sampled" and a.pivots == 50 and a.scale == 1000 / 50
    assert a.sources == b.sources != c.sources
    assert a.sources is not None and len(set(a.sources)) == 50 and all(0 <= s < 1000 for s in a.sources)


def test_sources_covering_everyone_equal_exact(data_dir: Path) -> None:
    teams, edges = eu_core(data_dir)
    g = index_graph(teams.items(), ((a, b, 1.0) for a, b in edges))
    graph = to_igraph(g)
    exact = betweenness_from_sources(graph, None)
    everyone = betweenness_from_sources(graph, list(range(g.n)))
    assert max(abs(x - y) for x, y in zip(exact, everyone, strict=True)) <= 1e-9 * max(exact)


def test_sampled_mode_error_on_eu_core(data_dir: Path) -> None:
    """Sampled mode on a real network: 300 of 1,005 pivots keep the top bridges and a small error."""
    teams, edges = eu_core(data_dir)
    g = index_graph(teams.items(), ((a, b, 1.0) for a, b in edges))
    exact = compute_metrics(g, MetricDefinitions(exact_max_nodes=5000), {})
    sampled = compute_metrics(g, MetricDefinitions(exact_max_nodes=100, pivots=300, seed=42), {})
    assert exact.plan.mode == "exact" and sampled.plan.mode == "sampled" and sampled.plan.pivots == 300
    err = sample_error([r.betweenness for r in exact.rows], [r.betweenness for r in sampled.rows])
    print("eu-core 300 pivots:", err)
    assert err.top10_overlap >= 0.8
    assert err.max_abs_relative_to_max < 0.2
    assert err.spearman_top100 > 0.8
    # unbiased: the total is close to the exact total
    total_e = sum(r.betweenness for r in exact.rows)
    total_s = sum(r.betweenness for r in sampled.rows)
    assert abs(total_s - total_e) / total_e < 0.05


def test_normalisation_small_graphs() -> None:
    assert normalise_betweenness([1.0, 2.0], 2) == [0.0, 0.0]
    assert normalise_betweenness([6.0], 4, scale=2.0) == [2.0]


def test_skip_rule() -> None:
    assert skip_reason("fp", None, 1000.0, 3600) is None  # never ran
    assert skip_reason("fp", LastRun("fp", 900.0), 1000.0, 3600) == "unchanged since the last refresh"
    assert skip_reason("fp2", LastRun("fp", 900.0), 1000.0, 3600) is None  # graph changed
    assert skip_reason("fp", LastRun("fp", 900.0), 900.0 + 3600, 3600) is None  # too old: window slid


def test_local_measures_by_hand() -> None:
    # a <-> b (weights 3 and 1), a -> c, c -> a, d -> a ; a self-loop on b (ignored)
    people = [("a", "x"), ("b", "x"), ("c", "y"), ("d", None), ("e", "z")]
    edges = [
        ("a", "b", 3.0),
        ("b", "a", 1.0),
        ("a", "c", 1.0),
        ("c", "a", 0.5),
        ("d", "a", 2.0),
        ("b", "b", 9.0),
    ]
    g = index_graph(people, edges)
    m = local_measures(g, strong_tie_min_weight=2.0)
    i = {pid: k for k, pid in enumerate(g.ids)}
    a, b, c, e = i["a"], i["b"], i["c"], i["e"]
    assert (m.degree_out[a], m.degree_in[a], m.weighted_out[a], m.weighted_in[a]) == (2, 3, 4.0, 3.5)
    assert (m.degree_out[b], m.degree_in[b]) == (1, 1)  # self-loop dropped
    assert m.network_size[a] == 3
    assert m.strong_ties[a] == 1  # b (3+1); c is reciprocated but only 1.5
    assert m.cross_team_ratio[a] == 0.5  # neighbours with a team: b (x), c (y); d unknown
    assert m.diverse_ties[a] == 1 and m.diverse_ties[c] == 1
    assert m.network_size[e] == 0 and m.cross_team_ratio[e] is None


def _row(pid: str, team: str | None, w: float) -> EmployeeMetrics:
    return EmployeeMetrics(pid, team, 1, 1, w, w, 0.1, 0.2, 0.5, None, 0.0, 2, 1, 1)


def test_team_summaries_withhold_small_teams() -> None:
    rows = [_row(f"a{i}", "big", 10.0) for i in range(5)] + [_row(f"b{i}", "small", 100.0) for i in range(4)]
    rows += [_row("n", None, 1.0)]
    teams = {t.team: t for t in team_summaries(rows, 5)}
    assert teams["small"].withheld and teams["small"].figures == {}
    assert not teams["big"].withheld and teams["big"].members == 5
    # the organisation's mean over shown teams only (the small team and the teamless are hidden)
    assert teams["big"].figures["load_index"] == pytest.approx(1.0)
    assert "mean_after_hours_share" not in teams["big"].figures  # all unknown: no figure
    assert [t.team for t in most_overloaded(list(teams.values()), 5)] == ["big"]  # small never shown


def test_after_hours_rule() -> None:
    d = MetricDefinitions()
    assert not is_after_hours(datetime(2026, 11, 30, 8, 0, tzinfo=UTC), d)  # Monday 08:00
    assert is_after_hours(datetime(2026, 11, 30, 18, 0, tzinfo=UTC), d)
    assert is_after_hours(datetime(2026, 11, 30, 7, 59, tzinfo=UTC), d)
    assert is_after_hours(datetime(2026, 11, 29, 12, 0, tzinfo=UTC), d)  # Sunday
    paris = MetricDefinitions(timezone="Europe/Paris")
    assert is_after_hours(datetime(2026, 11, 30, 17, 30, tzinfo=UTC), paris)  # 18:30 in Paris
