"""Refresh the expensive network metrics: pull the graph once, compute, write back, keep history.

One refresh = fingerprint the graph (skip when unchanged) -> the live graph (by default the
rolling window's ties from the ledger, weighed like every period; ``cumulative``: a snapshot of
the store's running totals) -> ledger window measures -> igraph (betweenness exact or
pivot-sampled, clustering) + pure measures -> node properties (batched) -> employee_metrics
(COPY, rollup in the same transaction) -> summaries for the read side -> a run record.
A Redis lock (redis-py ``Lock``, TTL) makes sure two refreshes never overlap, whoever starts
them (Temporal schedule, the API, the demo, a benchmark).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.adapters.graph import cypher
from shared.adapters.graph.base import GraphStore, MetricRow
from shared.adapters.igraph_compute import compute_structural
from shared.adapters.postgres.metrics_store import MetricsStore
from shared.domain.betweenness import BetweennessPlan, available_capacity, normalise_betweenness, plan_betweenness
from shared.domain.metrics import (
    EmployeeMetrics,
    IndexedGraph,
    MetricDefinitions,
    WindowMeasures,
    assemble,
    local_measures,
    skip_reason,
)
from shared.domain.team_metrics import graph_summary, team_summaries, top_bridges
from shared.platform.caching import invalidate
from shared.platform.resources import Resources
from shared.platform.settings import Settings
from shared.services.live_graph import LiveReading, live_graph, silent_metrics
from workflows.metrics_refresh.contract import RefreshResult

log = logging.getLogger(__name__)

SUMMARY_BRIDGES = 50


def definitions_from(settings: Settings) -> MetricDefinitions:
    return MetricDefinitions(
        window_days=settings.metrics.window_days,
        workday_start_hour=settings.metrics.workday_start_hour,
        workday_end_hour=settings.metrics.workday_end_hour,
        timezone=settings.metrics.timezone,
        strong_tie_min_weight=settings.metrics.strong_tie_min_weight,
        exact_max_nodes=settings.metrics.exact_max_nodes,
        pivots=settings.metrics.pivots,
        seed=settings.metrics.seed,
        exact_budget_s=settings.metrics.exact_budget_s,
        exact_cost_ns=settings.metrics.exact_cost_ns,
        betweenness_workers=betweenness_workers(settings),
        error_delta=settings.metrics.error_delta,
    )


def betweenness_workers(settings: Settings) -> int:
    """Processes for Brandes: the setting, or one per core when it is 0."""
    return settings.metrics.betweenness_workers or (os.cpu_count() or 1)


@dataclass
class ComputeOutcome:
    rows: list[EmployeeMetrics]
    plan: BetweennessPlan
    average_clustering: float
    reciprocity: float


def compute_metrics(g: IndexedGraph, defs: MetricDefinitions, window: dict[str, WindowMeasures]) -> ComputeOutcome:
    """CPU-bound part (run in a thread): igraph for paths and triangles, pure code for the rest."""
    plan = plan_betweenness(
        g.n,
        defs.exact_max_nodes,
        defs.pivots,
        defs.seed,
        m=g.m,
        capacity=available_capacity(defs.betweenness_workers, os.cpu_count() or 1, os.getloadavg()[0]),
        exact_budget_s=defs.exact_budget_s,
        cost_ns=defs.exact_cost_ns,
        delta=defs.error_delta,
    )
    structural = compute_structural(g, plan, defs.betweenness_workers)
    betweenness = normalise_betweenness(structural.betweenness_raw, g.n, plan.scale)
    local = local_measures(g, defs.strong_tie_min_weight)
    rows = assemble(g, local, betweenness, structural.clustering, window)
    return ComputeOutcome(rows, plan, structural.average_clustering, structural.reciprocity)


async def graph_fingerprint(graph: GraphStore) -> str:
    """Changes whenever the ingest path writes anything (versions only ever go up)."""
    people = await graph.execute(cypher.FINGERPRINT_PEOPLE, read_only=True)
    ties = await graph.execute(cypher.FINGERPRINT_TIES, read_only=True)
    p = people[0] if people else {}
    t = ties[0] if ties else {}
    tie_weight = float(t.get("w") or 0.0)
    return f"p{p.get('n') or 0}:{p.get('v') or 0}/t{t.get('n') or 0}:{t.get('v') or 0}:{tie_weight:.6f}"


def lock_key(settings: Settings) -> str:
    """One lock per graph: the graph is what two refreshes would fight over."""
    return f"co:metrics:refresh-lock:{settings.graph.name}"


def last_shown_sizes(previous: dict[str, Any] | None) -> dict[str, list[int]]:
    """The sizes each team has been shown at, from the previous summary (the k-anonymity series)."""
    return {t["team"]: [int(n) for n in t.get("basis") or []] for t in (previous or {}).get("teams", [])}


def _summary_dicts(
    rows: Sequence[EmployeeMetrics], min_group_size: int, last_shown: dict[str, list[int]] | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    bridges = [
        {
            "employee": r.employee,
            "team": r.team,
            "betweenness": r.betweenness,
            "clustering": r.clustering,
            "cross_team_ratio": r.cross_team_ratio,
            "diverse_ties": r.diverse_ties,
            "network_size": r.network_size,
        }
        for r in top_bridges(rows, SUMMARY_BRIDGES)
    ]
    teams = [
        {
            "team": t.team,
            "members": t.members,
            "withheld": t.withheld,
            "reason": t.reason,
            "basis": t.basis,
            "figures": None if t.withheld else t.figures,
        }
        for t in team_summaries(rows, min_group_size, last_shown)
    ]
    return bridges, teams


async def refresh_metrics(
    resources: Resources,
    *,
    trigger: str = "manual",
    force: bool = False,
    now: datetime | None = None,
    reading: LiveReading | None = None,
) -> RefreshResult:
    """Run one refresh unless another is running or nothing changed; always leaves a run record.
    ``reading`` overrides ``metrics_live_reading`` (callers that load running totals straight
    into the graph store, with no ledger behind them, read them cumulatively)."""
    settings = resources.settings
    store = MetricsStore(resources.pg)
    lock = resources.redis.lock(lock_key(settings), timeout=settings.metrics.refresh_lock_ttl_s, blocking=False)
    if not await lock.acquire(blocking=False):
        run_id = await store.record_skip(trigger, "another refresh is running", None)
        return RefreshResult(run_id, "skipped", "another refresh is running")
    async with held(lock, settings.metrics.refresh_lock_ttl_s):
        chosen = reading or settings.metrics.live_reading
        return await _refresh_locked(resources, store, trigger=trigger, force=force, now=now, reading=chosen)


@asynccontextmanager
async def held(lock: Any, ttl_s: float) -> AsyncIterator[None]:
    """Keep an acquired Redis lock alive while the block runs (TTL renewed every third of it),
    then release it. The TTL only matters if this process dies: the lock then frees itself."""
    from redis.exceptions import LockError

    async def renew() -> None:
        while True:
            await asyncio.sleep(ttl_s / 3)
            await lock.reacquire()

    keeper = asyncio.create_task(renew(), name="metrics-lock-renewal")
    try:
        yield
    finally:
        keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError, LockError):
            await keeper
        try:
            await lock.release()
        except LockError:  # renewal failed (Redis unreachable for a whole TTL): say so
            log.warning("metrics refresh lost its lock (TTL %ss)", ttl_s)


async def _drop_cached_reads(resources: Resources) -> None:
    """New metrics: cached API reads of metrics and graph figures are stale (shared/platform/caching.py)."""
    try:
        await invalidate(resources, ["metrics:*", "graph:*"])
    except Exception as exc:  # noqa: BLE001 - the TTL still bounds staleness; never fail the refresh
        log.warning("cache invalidation after refresh failed: %s", type(exc).__name__)


async def _refresh_locked(
    resources: Resources,
    store: MetricsStore,
    *,
    trigger: str,
    force: bool,
    now: datetime | None,
    reading: LiveReading,
) -> RefreshResult:
    settings = resources.settings
    defs = definitions_from(settings)
    started = time.perf_counter()
    fingerprint = await graph_fingerprint(resources.graph)
    if not force:
        reason = skip_reason(fingerprint, await store.last_success(), time.time(), settings.metrics.refresh_max_age_s)
        if reason is not None:
            run_id = await store.record_skip(trigger, reason, fingerprint)
            return RefreshResult(run_id, "skipped", reason)
    at = (now or datetime.now(UTC)).astimezone(UTC)
    run_id = await store.start_run(trigger)
    result = RefreshResult(run_id, "running")
    try:
        t0 = time.perf_counter()
        live = await live_graph(resources, at, reading)
        g = live.graph
        window = await store.window_measures(at - timedelta(days=defs.window_days), at, defs)
        t1 = time.perf_counter()
        outcome = await asyncio.to_thread(compute_metrics, g, defs, window)
        outcome.rows.extend(silent_metrics(p, team) for p, team in live.silent)
        t2 = time.perf_counter()
        await resources.graph.write_metrics(
            [MetricRow(r.employee, r.node_values(run_id, at.timestamp())) for r in outcome.rows]
        )
        t3 = time.perf_counter()
        await store.write_history(at, [r.history_record(at) for r in outcome.rows])
        last_shown = last_shown_sizes(await store.latest_summary())
        bridges, teams = _summary_dicts(outcome.rows, settings.privacy.min_group_size, last_shown)
        stats = graph_summary(g, outcome.rows, [t["team"] for t in teams if not t["withheld"]])
        stats["min_group_size"] = settings.privacy.min_group_size
        stats["silent"] = len(live.silent)
        stats.update(live.reading)
        stats.update({"mode": outcome.plan.mode, "pivots": outcome.plan.pivots or 0})  # type: ignore[dict-item]
        stats["betweenness_error_bound"] = outcome.plan.error_bound()  # type: ignore[assignment]
        await store.save_summary(run_id, at, stats, bridges, teams)
        await _drop_cached_reads(resources)
        t4 = time.perf_counter()
        result = RefreshResult(
            run_id,
            "succeeded",
            people=g.n,
            ties=g.m,
            mode=outcome.plan.mode,
            pivots=outcome.plan.pivots,
            reading=live.reading["reading"],
            snapshot_ms=(t1 - t0) * 1000,
            compute_ms=(t2 - t1) * 1000,
            writeback_ms=(t3 - t2) * 1000,
            history_ms=(t4 - t3) * 1000,
            duration_ms=(t4 - started) * 1000,
        )
        await store.finish_run(
            run_id,
            status="succeeded",
            fingerprint=fingerprint,
            people=result.people,
            ties=result.ties,
            mode=result.mode,
            pivots=result.pivots,
            snapshot_ms=result.snapshot_ms,
            compute_ms=result.compute_ms,
            writeback_ms=result.writeback_ms,
            history_ms=result.history_ms,
            duration_ms=result.duration_ms,
        )
        return result
    except Exception as exc:
        await store.finish_run(
            run_id,
            status="failed",
            error=f"{type(exc).__name__}: {exc}"[:1000],
            duration_ms=(time.perf_counter() - started) * 1000,
        )
        raise


async def apply_retention(resources: Resources, now: datetime | None = None) -> int:
    """The retention job: raw history past its retention, rollups past theirs. Partitions dropped."""
    settings = resources.settings
    return await MetricsStore(resources.pg).retention(
        (now or datetime.now(UTC)),
        timedelta(days=settings.metrics.raw_retention_days),
        timedelta(days=settings.metrics.rollup_retention_days),
    )
