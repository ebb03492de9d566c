"""Windowed graphs from the ledger equal networkx on the real timestamped email-Eu-core data.

The 83,083 e-mails (150 days) are loaded into a scratch ledger; every closed calendar week,
several 28-day windows and the hourly refresh's live values are built by the production path
(one SQL pass + the tie-weighting rules + the same compute the refresh uses). The reference is
rebuilt here from the file alone: the rule applied independently (each e-mail has one
recipient, so weight 1 per e-mail; a directed tie needs the pair to have exchanged at least two
e-mails in the window, either direction) and networkx computes degree, betweenness and
clustering.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import networkx as nx
import pytest
from pydantic import SecretStr

from shared.adapters.datasets import eu_core_departments, eu_core_temporal
from shared.adapters.graph.base import PersonRow, TieRow
from shared.adapters.postgres.metrics_store import MetricsStore
from shared.adapters.postgres.pool import PgPool
from shared.adapters.postgres.window_ledger import copy_interactions, copy_teams
from shared.domain.metrics import MetricDefinitions
from shared.domain.periods import Period, closed_periods
from shared.domain.tie_weights import TieRules
from shared.platform.resources import Needs, open_resources
from shared.platform.settings import Settings
from shared.services.metrics_refresh import refresh_metrics
from shared.services.period_metrics import compute_period
from tests.conftest import own_database

BASE = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday: second 0 of the data set
REL = 1e-9
Email = tuple[str, str, datetime]


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=REL, abs_tol=1e-12)


@pytest.fixture(scope="module")
def emails(data_dir: Path) -> list[Email]:
    return [(f"eu{s}", f"eu{d}", BASE + timedelta(seconds=t)) for s, d, t in eu_core_temporal(data_dir)]


@pytest.fixture(scope="module")
def teams(data_dir: Path) -> dict[str, str]:
    return {f"eu{p}": f"dept-{d}" for p, d in eu_core_departments(data_dir).items()}


@pytest.fixture(scope="module")
async def ledger_dsn(
    stack_env: dict[str, str], run_id: str, emails: list[Email], teams: dict[str, str]
) -> AsyncIterator[str]:
    async with own_database(stack_env, run_id, "windows") as dsn:
        pool = await PgPool.connect(dsn, min_size=1, max_size=2)
        try:
            rows = [(f"eu-{i}", at, "email", s, d, 1.0, None) for i, (s, d, at) in enumerate(emails)]
            assert await copy_interactions(pool, rows) == 83083
            await copy_teams(pool, teams)
        finally:
            await pool.close()
        yield dsn


@pytest.fixture(scope="module")
async def ledger(ledger_dsn: str) -> AsyncIterator[PgPool]:
    pool = await PgPool.connect(ledger_dsn, min_size=1, max_size=2)
    try:
        yield pool
    finally:
        await pool.close()


def reference(emails: list[Email], period: Period) -> nx.DiGraph:
    inside = [(s, d) for s, d, at in emails if period.start <= at < period.end and s != d]
    per_direction = Counter(inside)
    per_pair = Counter(tuple(sorted(p)) for p in inside)
    ref = nx.DiGraph()
    ref.add_nodes_from({p for pair in inside for p in pair})
    for (s, d), n in per_direction.items():
        if per_pair[tuple(sorted((s, d)))] >= 2:
            ref.add_edge(s, d, weight=float(n))
    return ref


async def assert_equal_to_networkx(ledger: PgPool, emails: list[Email], period: Period) -> int:
    outcome = await compute_period(ledger, period, MetricDefinitions(), TieRules())
    ref = reference(emails, period)
    g = outcome.graph.graph
    assert outcome.compute.plan.mode == "exact"
    assert sorted(g.ids) == sorted(ref.nodes) and g.m == ref.number_of_edges()
    betweenness = nx.betweenness_centrality(ref, normalized=True)
    clustering = nx.clustering(ref.to_undirected(as_view=False))
    for row in outcome.compute.rows:
        p = row.employee
        assert row.degree_in == ref.in_degree(p) and row.degree_out == ref.out_degree(p)
        assert close(row.weighted_in, ref.in_degree(p, weight="weight"))
        assert close(row.weighted_out, ref.out_degree(p, weight="weight"))
        assert close(row.betweenness, betweenness[p]), (period, p, row.betweenness, betweenness[p])
        assert close(row.clustering, clustering[p]), (period, p)
    assert max(betweenness.values()) > 0.01 and max(clustering.values()) > 0.5  # non-trivial graphs
    return g.m


async def test_every_closed_week_equals_networkx(ledger: PgPool, emails: list[Email]) -> None:
    weeks = list(closed_periods("week", BASE, emails[-1][2]))
    assert len(weeks) == 21
    ties = [await assert_equal_to_networkx(ledger, emails, week) for week in weeks]
    assert sum(t > 500 for t in ties) >= 20  # one quiet week (22 ties) aside, real weekly networks


async def test_rolling_28_day_windows_equal_networkx(ledger: PgPool, emails: list[Email]) -> None:
    # windows ending mid-day too: the window slides, it is not aligned to weeks
    for end_day in (28.0, 70.25, 111.5, 150.0):
        end = BASE + timedelta(days=end_day)
        await assert_equal_to_networkx(ledger, emails, Period(end - timedelta(days=28), end, "window"))


async def test_window_drops_single_emails_but_keeps_everyone(ledger: PgPool, emails: list[Email]) -> None:
    period = Period(BASE, BASE + timedelta(days=7), "week")
    outcome = await compute_period(ledger, period, MetricDefinitions(), TieRules())
    inside = {(s, d) for s, d, at in emails if period.start <= at < period.end and s != d}
    assert outcome.graph.weighed.dropped > 0
    assert outcome.graph.graph.m + outcome.graph.weighed.dropped == len(inside)
    loose = await compute_period(ledger, period, MetricDefinitions(), TieRules(min_evidence=1))
    assert loose.graph.graph.m == len(inside)


async def test_hourly_refresh_stores_the_28_day_window_as_live_values(
    settings: Settings, ledger_dsn: str, emails: list[Email], teams: dict[str, str]
) -> None:
    """The live values (node properties, the history row, the summary) are the window's, not the
    running totals': the graph store holds all 150 days' ties plus one person silent in the
    window, and every stored value must equal networkx on the last 28 days' ties alone."""
    live = settings.replace(
        pg_dsn=SecretStr(ledger_dsn), graph_name=settings.graph.name + "_live", metrics_exact_budget_s=0.0
    )
    assert live.metrics.live_reading == "window"  # the default
    at = BASE + timedelta(days=150, hours=6)
    window = Period(at - timedelta(days=28), at, "window")
    ref = reference(emails, window)
    cumulative = Counter((s, d) for s, d, _ in emails if s != d)
    people = {p for pair in cumulative for p in pair} | {"eu-silent"}
    async with open_resources(live, Needs(graph=True, redis=True, pg=True)) as res:
        await res.graph.clear()
        try:
            await res.graph.upsert_people([PersonRow(id=p, version=1, team=teams.get(p)) for p in sorted(people)])
            await res.graph.upsert_ties([TieRow(s, d, 1, float(n), n) for (s, d), n in cumulative.items()])
            result = await refresh_metrics(res, trigger="test", force=True, now=at)
            assert result.status == "succeeded" and result.mode == "exact"
            assert (result.people, result.ties) == (ref.number_of_nodes(), ref.number_of_edges())
            stored = await res.graph.execute(
                "MATCH (p:Person) RETURN p.id AS id, p.betweenness AS b, p.clustering AS c, p.network_size AS s, "
                "p.cross_team_ratio AS x, p.metrics_run AS run",
                read_only=True,
            )
            summary = await MetricsStore(res.pg).latest_summary()
            async with res.pg.acquire() as conn:
                history = {
                    r["employee"]: r for r in await conn.fetch("SELECT * FROM employee_metrics WHERE time = $1", at)
                }
        finally:
            await res.graph.clear()

    betweenness = nx.betweenness_centrality(ref, normalized=True)
    undirected = ref.to_undirected(as_view=False)
    clustering = nx.clustering(undirected)
    assert len(stored) == len(people) and set(history) == people
    assert ref.number_of_nodes() < len(people) - 1  # people silent in the window exist beyond the test's own
    changed = 0
    for row in stored:
        p = row["id"]
        assert row["run"] == result.run_id
        if p not in ref:  # silent in the window: nothing now, whatever the history says
            assert (row["b"], row["c"], row["s"], row["x"]) == (0.0, 0.0, 0, None), p
            assert (history[p]["degree_in"], history[p]["degree_out"]) == (0, 0)
            continue
        neighbours = list(undirected.neighbors(p))
        assert close(row["b"], betweenness[p]), (p, row["b"], betweenness[p])
        assert close(row["c"], clustering[p]) and row["s"] == len(neighbours)
        known = [teams[q] for q in neighbours if q in teams]
        if p in teams and known:
            assert close(row["x"], sum(t != teams[p] for t in known) / len(known))
        h = history[p]
        assert (h["degree_in"], h["degree_out"]) == (ref.in_degree(p), ref.out_degree(p))
        assert close(h["weighted_in"], ref.in_degree(p, weight="weight")) and close(h["betweenness"], betweenness[p])
        changed += h["degree_out"] != sum(1 for (s, _d) in cumulative if s == p)
    assert changed > 100  # the cumulative graph would have given other values: the test can fail
    assert summary is not None and summary["graph"]["reading"] == "window"
    assert summary["graph"]["start"] == window.start.isoformat() and summary["graph"]["silent"] == len(people) - len(
        ref
    )
