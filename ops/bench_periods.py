"""Benchmark: networks over time (issue 13), part of `task bench:metrics` and runnable alone
(`task bench:periods`; the last stdout line is one JSON object).

Figures:
- ``window_refresh_s``: the rolling 28-day window of email-Enron-scale data (every directed
  Enron tie e-mailed once or twice at random moments of the last 28 days: ~550K ledger rows)
  built from the ledger (one range scan + tie weighting) and computed (every metric; the
  betweenness plan the settings choose, exact when it fits the budget), phases reported;
- ``enron_exact_betweenness_s``: exact betweenness of email-Enron, all sources, on one thread
  per core (the compiled kernel of shared.adapters.brandes, summed);
- ``backfill_weeks_per_min``: the weekly back-fill on email-Eu-core-temporal (21 closed weeks:
  ledger scan, compute, history write per week) through the service the workflow runs.

Uses its own PostgreSQL databases; removes them at the end. Heavy: run it in the background
on a shared machine and note the load average (printed).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import resource
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from ops.stack.config import ROOT
from shared.adapters.datasets import data_dir_for, enron, eu_core_temporal
from shared.adapters.igraph_compute import betweenness_split
from shared.adapters.postgres.databases import scratch_database
from shared.adapters.postgres.pool import PgPool
from shared.adapters.postgres.window_ledger import LedgerRow, build_period_graph, copy_interactions, copy_teams
from shared.domain.metrics import index_graph
from shared.domain.periods import rolling_window
from shared.platform.settings import Settings, load_settings
from shared.services.live_graph import tie_rules_from
from shared.services.metrics_refresh import betweenness_workers, definitions_from
from shared.services.period_metrics import compute_period, periods_to_fill, write_period

DATA = data_dir_for(ROOT)
EU_BASE = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday: second 0 of email-Eu-core-temporal
TARGETS = {"window_refresh_s": 60.0, "enron_exact_betweenness_s": 60.0}


def cpu_seconds() -> float:
    """CPU time of this process (the Brandes threads) and its finished children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def log(msg: str) -> None:
    print(f"{msg} (load {os.getloadavg()[0]:.1f})", file=sys.stderr, flush=True)


def enron_window_rows(now: datetime, seed: int = 11) -> tuple[list[LedgerRow], dict[str, str]]:
    rng = random.Random(seed)
    start = now - timedelta(days=28)
    rows: list[LedgerRow] = []
    teams: dict[str, str] = {}
    for i, (a, b) in enumerate(enron(DATA)):
        teams.setdefault(a, f"dept-{int(a) % 97}")
        teams.setdefault(b, f"dept-{int(b) % 97}")
        for j in range(1 + (i % 2)):
            at = start + timedelta(seconds=rng.uniform(60, 28 * 86400 - 60))
            rows.append((f"en-{i}-{j}", at, "email", a, b, 1.0, None))
    return rows, teams


async def window_refresh(settings: Settings, base_dsn: str, tag: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    async with scratch_database(base_dsn, f"co_bench_window_{tag}") as dsn:
        pool = await PgPool.connect(dsn, min_size=1, max_size=2, command_timeout_s=600)
        try:
            rows, teams = enron_window_rows(now)
            log(f"loading {len(rows)} Enron-scale ledger rows ...")
            await copy_teams(pool, teams)
            await copy_interactions(pool, rows)
            async with pool.acquire() as conn:
                await conn.execute("ANALYZE interactions")
            window = rolling_window(now, settings.metrics.window_days)
            defs, rules = definitions_from(settings), tie_rules_from(settings)
            log("28-day window refresh ...")
            t0, c0 = time.perf_counter(), cpu_seconds()
            outcome = await compute_period(pool, window, defs, rules)  # ledger scan + weighting + every metric
            refresh_s, refresh_cpu = time.perf_counter() - t0, cpu_seconds() - c0
            t1 = time.perf_counter()
            built = await build_period_graph(pool, window, rules)  # the ledger-and-weighting part alone
            graph_s = time.perf_counter() - t1
            return {
                "rows": len(rows),
                "people": built.graph.n,
                "ties": built.graph.m,
                "dropped_pairs": built.weighed.dropped,
                "window_graph_s": round(graph_s, 2),
                "window_refresh_s": round(refresh_s, 2),
                "refresh_cpu_s_this_process_and_workers": round(refresh_cpu, 1),
                "betweenness": outcome.compute.plan.error_bound(),
                "workers": defs.betweenness_workers,
            }
        finally:
            await pool.close()


def enron_exact(workers: int) -> dict[str, Any]:
    edges = enron(DATA)
    g = index_graph(((p, None) for e in edges for p in e), ((a, b, 1.0) for a, b in edges))
    log(f"Enron exact betweenness on {workers} threads ...")
    t0, c0 = time.perf_counter(), cpu_seconds()
    raw = betweenness_split(g, None, workers)
    seconds, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    return {
        "people": g.n,
        "ties": g.m,
        "workers": workers,
        "seconds": round(seconds, 1),
        "cpu_s_all_workers": round(cpu, 1),
        # what the wall time would be with the cores to ourselves: the work divided by the workers
        "uncontended_estimate_s": round(cpu / workers, 1),
        "max_raw": max(raw),
    }


async def backfill(settings: Settings, base_dsn: str, tag: str) -> dict[str, Any]:
    async with scratch_database(base_dsn, f"co_bench_backfill_{tag}") as dsn:
        pool = await PgPool.connect(dsn, min_size=1, max_size=2, command_timeout_s=600)
        try:
            rows: list[LedgerRow] = [
                (f"eu-{i}", EU_BASE + timedelta(seconds=t), "email", f"eu{s}", f"eu{d}", 1.0, None)
                for i, (s, d, t) in enumerate(eu_core_temporal(DATA))
            ]
            await copy_interactions(pool, rows)
            async with pool.acquire() as conn:
                await conn.execute("ANALYZE interactions")
            defs, rules = definitions_from(settings), tie_rules_from(settings)
            log("weekly back-fill of email-Eu-core ...")
            t0 = time.perf_counter()
            periods = await periods_to_fill(pool, "week", datetime.now(UTC), rewrite=False)
            for period in periods:
                await write_period(pool, period, defs, rules, settings.privacy.min_group_size)
            seconds = time.perf_counter() - t0
            return {
                "weeks": len(periods),
                "seconds": round(seconds, 1),
                "weeks_per_min": round(len(periods) * 60 / seconds, 1),
            }
        finally:
            await pool.close()


PARTS = ("backfill", "window", "exact")


async def run(settings: Settings | None = None, parts: tuple[str, ...] = PARTS) -> dict[str, Any]:
    settings = settings or load_settings()
    base_dsn = settings.postgres.dsn.get_secret_value()
    tag = uuid.uuid4().hex[:8]
    out: dict[str, Any] = {"load_before": os.getloadavg()}
    figures: dict[str, float] = {}
    if "backfill" in parts:
        out["backfill"] = await backfill(settings, base_dsn, tag)
        figures["backfill_weeks_per_min"] = out["backfill"]["weeks_per_min"]
    if "window" in parts:
        out["window"] = await window_refresh(settings, base_dsn, tag)
        figures["window_refresh_s"] = out["window"]["window_refresh_s"]
        figures["window_graph_s"] = out["window"]["window_graph_s"]
    if "exact" in parts:
        out["enron_exact"] = await asyncio.to_thread(enron_exact, betweenness_workers(settings))
        figures["enron_exact_betweenness_s"] = out["enron_exact"]["seconds"]
    out["load_after"] = os.getloadavg()
    out["figures"] = figures
    out["targets"] = TARGETS
    out["targets_met"] = {k: figures[k] < v for k, v in TARGETS.items() if k in figures}
    return out


if __name__ == "__main__":
    chosen = tuple(sys.argv[1].split(",")) if len(sys.argv) > 1 else PARTS
    print(json.dumps(asyncio.run(run(parts=chosen))))
