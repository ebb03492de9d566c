"""Windowed graphs from the ledger equal networkx on the real timestamped email-Eu-core data.

The 83,083 e-mails (150 days) are loaded into a scratch ledger; every closed calendar week and
several 28-day windows are built by the production path (one SQL pass + the tie-weighting
rules + the same compute the refresh uses). The reference is rebuilt here from the file alone:
the rule applied independently (each e-mail has one recipient, so weight 1 per e-mail; a
directed tie needs the pair to have exchanged at least two e-mails in the window, either
direction) and networkx computes degree, betweenness and clustering.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import networkx as nx
import pytest

from shared.adapters.datasets import eu_core_temporal
from shared.adapters.postgres.databases import scratch_database
from shared.adapters.postgres.pool import PgPool
from shared.adapters.postgres.window_ledger import copy_interactions
from shared.domain.metrics import MetricDefinitions
from shared.domain.periods import Period, closed_periods
from shared.domain.tie_weights import TieRules
from shared.services.period_metrics import compute_period

BASE = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday: second 0 of the data set
REL = 1e-9
Email = tuple[str, str, datetime]


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=REL, abs_tol=1e-12)


@pytest.fixture(scope="module")
def emails(data_dir: Path) -> list[Email]:
    return [(f"eu{s}", f"eu{d}", BASE + timedelta(seconds=t)) for s, d, t in eu_core_temporal(data_dir)]


@pytest.fixture(scope="module")
async def ledger(stack_env: dict[str, str], run_id: str, emails: list[Email]) -> AsyncIterator[PgPool]:
    async with scratch_database(stack_env["CO_PG_DSN"], f"co_test_{run_id}_windows") as dsn:
        pool = await PgPool.connect(dsn, min_size=1, max_size=2)
        try:
            rows = [(f"eu-{i}", at, "email", s, d, 1.0, None) for i, (s, d, at) in enumerate(emails)]
            assert await copy_interactions(pool, rows) == 83083
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
