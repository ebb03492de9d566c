"""The refresh use case on the real servers with the real email-Eu-core network: snapshot,
compute, write-back, history, summaries, skip-when-unchanged, the lock, and the run records."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ops.metrics_demo import demo_stage
from shared.adapters.datasets import eu_core, synthetic_weight
from shared.adapters.graph.base import PersonRow, TieRow
from shared.adapters.postgres.metrics_store import MetricsStore
from shared.domain.metrics import index_graph
from shared.platform.resources import Resources
from shared.services.metrics_refresh import (
    compute_metrics,
    definitions_from,
    lock_key,
    refresh_metrics,
)


@pytest.fixture(scope="module")
async def loaded(mres: Resources, data_dir: Path) -> dict[str, str]:
    teams, edges = eu_core(data_dir)
    await mres.graph.clear()
    await mres.graph.upsert_people([PersonRow(id=p, version=1, team=t) for p, t in teams.items()])
    await mres.graph.upsert_ties([TieRow(a, b, 1, synthetic_weight(a, b), 1) for a, b in set(edges)])
    async with mres.pg.acquire() as conn:
        await conn.execute("DELETE FROM metrics_refresh_runs")
    return teams


async def test_refresh_writes_exact_metrics_back_history_and_summary(
    mres: Resources, loaded: dict[str, str], data_dir: Path
) -> None:
    teams, edges = eu_core(data_dir)
    at = datetime.now(UTC).replace(microsecond=0)
    result = await refresh_metrics(mres, trigger="test", force=True, now=at)
    assert result.status == "succeeded" and result.mode == "exact"
    assert (result.people, result.ties) == (1005, 24929)

    # reference: the same definitions computed straight from the file (equal to networkx, see
    # test_reference); the stored values must match it after the graph round trip
    g = index_graph(teams.items(), ((a, b, synthetic_weight(a, b)) for a, b in edges))
    expected = {r.employee: r for r in compute_metrics(g, definitions_from(mres.settings), {}).rows}
    stored = await mres.graph.execute(
        "MATCH (p:Person) RETURN p.id AS id, p.betweenness AS b, p.clustering AS c, p.network_size AS s, "
        "p.strong_ties AS st, p.diverse_ties AS d, p.cross_team_ratio AS x, p.metrics_run AS run",
        read_only=True,
    )
    assert len(stored) == 1005
    for row in stored:
        exp = expected[row["id"]]
        assert math.isclose(row["b"], exp.betweenness, rel_tol=1e-9, abs_tol=1e-15)
        assert math.isclose(row["c"], exp.clustering, rel_tol=1e-9, abs_tol=1e-15)
        assert (row["s"], row["st"], row["d"], row["run"]) == (
            exp.network_size,
            exp.strong_ties,
            exp.diverse_ties,
            result.run_id,
        )
        assert (row["x"] is None) == (exp.cross_team_ratio is None)

    store = MetricsStore(mres.pg)
    async with mres.pg.acquire() as conn:
        n_hist = await conn.fetchval("SELECT count(*) FROM employee_metrics WHERE time = $1", at)
        top_hist = await conn.fetchrow(
            "SELECT employee, betweenness FROM employee_metrics WHERE time = $1 ORDER BY betweenness DESC LIMIT 1",
            at,
        )
    assert n_hist == 1005
    best = max(expected.values(), key=lambda r: r.betweenness)
    assert top_hist["employee"] == best.employee

    summary = await store.latest_summary()
    assert summary is not None and summary["run_id"] == result.run_id
    assert summary["bridges"][0]["employee"] == best.employee
    # k-anonymity: organisation figures over the shown teams' people only (docs/security.md)
    shown = {t["team"] for t in summary["teams"] if not t["withheld"]}
    in_shown = [r for r in expected.values() if r.team in shown]
    assert (
        summary["graph"]["people"] == len(in_shown) == sum(t["members"] for t in summary["teams"] if t["team"] in shown)
    )
    assert math.isclose(summary["graph"]["average_clustering"], sum(r.clustering for r in in_shown) / len(in_shown))
    small = [t for t in summary["teams"] if t["members"] < 5]
    assert small and all(t["withheld"] and t["figures"] is None for t in small)
    assert all(t["figures"]["load_index"] > 0 for t in summary["teams"] if t["team"] in shown)


async def test_unchanged_graph_is_skipped_and_changes_are_not(mres: Resources, loaded: dict[str, str]) -> None:
    first = await refresh_metrics(mres, trigger="test", force=True)
    assert first.status == "succeeded"
    skipped = await refresh_metrics(mres, trigger="schedule")
    assert skipped.status == "skipped" and skipped.skipped_reason == "unchanged since the last refresh"
    # the ingest path bumps a tie's version: the next refresh runs
    await mres.graph.upsert_ties([TieRow("0", "1", 2, 5.0, 2)])
    again = await refresh_metrics(mres, trigger="schedule")
    assert again.status == "succeeded"
    runs = await MetricsStore(mres.pg).recent_runs(3)
    assert [r.status for r in runs] == ["succeeded", "skipped", "succeeded"]
    assert runs[1].skipped_reason == "unchanged since the last refresh" and runs[1].trigger == "schedule"
    assert runs[0].people == 1005 and runs[0].finished_at is not None and runs[0].duration_ms > 0


async def test_a_held_lock_means_skip_not_overlap(mres: Resources, loaded: dict[str, str]) -> None:
    lock = mres.redis.lock(lock_key(mres.settings), timeout=30)
    assert await lock.acquire(blocking=False)
    try:
        result = await refresh_metrics(mres, trigger="test", force=True)
    finally:
        await lock.release()
    assert result.status == "skipped" and result.skipped_reason == "another refresh is running"
    runs = await MetricsStore(mres.pg).recent_runs(1)
    assert runs[0].status == "skipped" and runs[0].skipped_reason == "another refresh is running"
    # and the lock is free again once released
    assert (await refresh_metrics(mres, trigger="test", force=True)).status == "succeeded"


async def test_demo_stage_prints_bridges_and_overloaded_teams(mres: Resources, loaded: dict[str, str]) -> None:
    lines: list[str] = []
    await demo_stage(mres, lines.append)
    text = "\n".join(lines)
    print(text)  # visible with -s: the demo's output on the real email-Eu-core network
    assert "top bridges" in text and "most overloaded teams" in text
    assert sum(1 for line in lines if line.startswith("  1. ")) == 2


async def test_time_based_measures_come_from_the_ledger_window(mres: Resources, loaded: dict[str, str]) -> None:
    """A 90-minute meeting of 0, 1 and 2 two days ago at 21:00 UTC (after hours), and an older
    one outside the 28-day window: the refresh materialises after-hours share and meeting hours."""
    from datetime import timedelta

    now = datetime.now(UTC)
    recent = (now - timedelta(days=2)).replace(hour=21, minute=0, second=0, microsecond=0)
    old = now - timedelta(days=40)
    rows = []
    for event, at, seconds in (("rf-meet-recent", recent, 5400), ("rf-meet-old", old, 7200)):
        for s in ("0", "1", "2"):
            for d in ("0", "1", "2"):
                if s != d:
                    rows.append((event, at, "meeting", s, d, 1.0, seconds))
    async with mres.pg.acquire() as conn:
        await conn.executemany(
            "INSERT INTO interactions (event_id, occurred_at, kind, src, dst, weight, duration_s) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
            rows,
        )
    result = await refresh_metrics(mres, trigger="test", force=True)
    assert result.status == "succeeded"
    for pid in ("0", "1", "2"):
        props = await mres.graph.get_person(pid)
        assert props is not None
        assert props["after_hours_share"] == 1.0 and math.isclose(props["meeting_hours"], 1.5)
    other = await mres.graph.get_person("3")
    assert other is not None and other.get("after_hours_share") is None and other["meeting_hours"] == 0.0
    async with mres.pg.acquire() as conn:
        hist = await conn.fetchrow(
            "SELECT after_hours_share, meeting_hours FROM employee_metrics "
            "WHERE employee = '0' ORDER BY time DESC LIMIT 1"
        )
    assert hist["after_hours_share"] == 1.0 and math.isclose(hist["meeting_hours"], 1.5)


async def test_the_lock_is_renewed_while_a_refresh_runs(mres: Resources) -> None:
    """A refresh longer than the lock's TTL keeps the lock (no second refresh can start)."""
    import asyncio

    from shared.services.metrics_refresh import held

    key = lock_key(mres.settings) + ":renewal-test"
    lock = mres.redis.lock(key, timeout=0.6)
    assert await lock.acquire(blocking=False)
    async with held(lock, 0.6):
        await asyncio.sleep(1.5)  # 2.5 TTLs
        assert await lock.owned()
        assert not await mres.redis.lock(key, timeout=5).acquire(blocking=False)
    assert await mres.redis.exists(key) == 0  # released at the end
