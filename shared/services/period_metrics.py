"""Networks over time: the graph of one period (a closed week or month, or the rolling
window) built from the ledger's raw interactions with the tie-weighting rules, and its metrics.

Why one pass per period instead of an incrementally maintained windowed tie set: a 28-day
window of email-Enron-scale data is reduced by PostgreSQL to per-(pair, kind, size) counts in
one range scan (docs/benchmarks.md, ``window_graph_s``), far inside the refresh budget, and a
re-read can never drift from the ledger, while an incremental set would need expiry
bookkeeping for every row leaving the window.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.adapters.postgres.metrics_store import MetricsStore
from shared.adapters.postgres.period_store import PeriodStore
from shared.adapters.postgres.pool import PgPool
from shared.adapters.postgres.window_ledger import PeriodGraph, build_period_graph, ledger_span
from shared.domain.metrics import EmployeeMetrics, MetricDefinitions
from shared.domain.network_change import team_period_figures
from shared.domain.periods import Period, PeriodKind, closed_periods, period_of
from shared.domain.team_metrics import top_bridges
from shared.domain.tie_weights import TieRules
from shared.services.metrics_refresh import ComputeOutcome, compute_metrics


@dataclass
class PeriodOutcome:
    graph: PeriodGraph
    compute: ComputeOutcome


async def compute_period(pool: PgPool, period: Period, defs: MetricDefinitions, rules: TieRules) -> PeriodOutcome:
    """Every per-person metric of ``period``'s own graph (time-based ones over the same interval)."""
    built = await build_period_graph(pool, period, rules)
    window = await MetricsStore(pool).window_measures(period.start, period.end, defs)
    outcome = await asyncio.to_thread(compute_metrics, built.graph, defs, window)
    return PeriodOutcome(built, outcome)


BRIDGES_PER_PERIOD = 20


def period_bridges(rows: list[EmployeeMetrics]) -> list[dict[str, Any]]:
    return [
        {"employee": r.employee, "team": r.team, "betweenness": r.betweenness}
        for r in top_bridges(rows, BRIDGES_PER_PERIOD)
        if r.betweenness > 0
    ]


async def write_period(
    pool: PgPool, period: Period, defs: MetricDefinitions, rules: TieRules, min_group_size: int
) -> PeriodOutcome:
    """Compute one closed period and replace its rows in the history."""
    outcome = await compute_period(pool, period, defs, rules)
    g, rows, plan = outcome.graph.graph, outcome.compute.rows, outcome.compute.plan
    teams = team_period_figures(g, rows, min_group_size)
    stats: dict[str, Any] = {
        "people": g.n,
        "ties": g.m,
        "dropped_pairs": outcome.graph.weighed.dropped,
        "mode": plan.mode,
        "pivots": plan.pivots,
        "epsilon": plan.epsilon,
        "delta": plan.delta,
    }
    await PeriodStore(pool).write_period(period, rows, teams, stats, period_bridges(rows))
    return outcome


async def periods_to_fill(pool: PgPool, kind: PeriodKind, now: datetime, *, rewrite: bool) -> list[Period]:
    """Closed periods the retained ledger covers, oldest first (already written ones skipped
    unless ``rewrite``)."""
    span = await ledger_span(pool)
    if span is None:
        return []
    written = set() if rewrite else await PeriodStore(pool).written_periods(kind)
    until = min(now, period_of(kind, span[1]).end)  # no empty periods after the last interaction
    return [p for p in closed_periods(kind, span[0], until) if p.label not in written]


async def backfill_in_process(
    pool: PgPool,
    kind: PeriodKind,
    now: datetime,
    defs: MetricDefinitions,
    rules: TieRules,
    min_group_size: int,
    *,
    rewrite: bool = False,
    on_progress: Callable[[int, int, Period], None] | None = None,
) -> list[Period]:
    """The back-fill without Temporal (CLI, demo, benchmark): same plan, same per-period write,
    recorded in ``period_backfill_runs`` like the workflow's."""
    periods = await periods_to_fill(pool, kind, now, rewrite=rewrite)
    store = PeriodStore(pool)
    first = periods[0].label if periods else now.date()
    run_id = await store.start_backfill(kind, first, periods[-1].label if periods else first, len(periods))
    try:
        for done, period in enumerate(periods, 1):
            await write_period(pool, period, defs, rules, min_group_size)
            await store.backfill_progress(run_id, done)
            if on_progress is not None:
                on_progress(done, len(periods), period)
    except Exception as exc:
        await store.finish_backfill(run_id, "failed", f"{type(exc).__name__}: {exc}"[:1000])
        raise
    await store.finish_backfill(run_id, "succeeded")
    return periods
