"""The history of periods on a generated organisation whose network changes (a planted
reorganisation): the weekly readings show the step, the cumulative one drifts; the back-fill
workflow fills every closed week with progress; the API serves periods, changes and bridge
turnover with the k-rule and the role rules (viewer, analyst, admin, nobody)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.worker import Worker

from functions.metrics_api.periods import _shown
from ops.periods_demo import demo_stage
from ops.processes import serve, settings_env
from shared.adapters.postgres.databases import scratch_database
from shared.adapters.postgres.metrics_store import MetricsStore
from shared.adapters.postgres.panel import fetch_panel
from shared.adapters.postgres.period_store import PeriodStore
from shared.adapters.postgres.window_ledger import copy_interactions, copy_teams, ledger_rows
from shared.domain.analysis import AnalysisSpec
from shared.domain.metrics import EmployeeMetrics, MetricDefinitions
from shared.domain.network_change import TEAM_FIGURES, changes, team_period_figures
from shared.domain.periods import Period
from shared.domain.synthetic_network import ChangingOrg, generate_changing_org
from shared.domain.tie_weights import TieRules
from shared.platform.resources import Needs, Resources, open_resources
from shared.platform.settings import Settings
from shared.platform.tokens import mint_token
from shared.services.period_metrics import compute_period, periods_to_fill
from workflows.period_backfill import WORKFLOWS
from workflows.period_backfill.activities import build_activities
from workflows.period_backfill.client import start as start_backfill

NOW = datetime.now(UTC)


@pytest.fixture(scope="module")
def org() -> ChangingOrg:
    return generate_changing_org(5)


@pytest.fixture(scope="module")
async def periods_settings(settings: Settings, run_id: str) -> AsyncIterator[Settings]:
    base = settings.postgres.dsn.get_secret_value()
    async with scratch_database(base, f"co_test_{run_id}_periods") as dsn:
        yield settings.replace(**{"pg_dsn": SecretStr(dsn), "temporal_task_queue": settings.graph.name + "-periods"})


@pytest.fixture(scope="module")
async def pres(periods_settings: Settings, org: ChangingOrg) -> AsyncIterator[Resources]:
    async with open_resources(periods_settings, Needs(pg=True)) as res:
        await copy_teams(res.pg, org.teams)
        await copy_interactions(res.pg, ledger_rows(org.events))
        yield res


@pytest.fixture(scope="module")
async def backfilled(pres: Resources, periods_settings: Settings, stack_env: dict[str, str]) -> dict[str, Any]:
    """The back-fill workflow on a real Temporal server, with a worker in this test."""
    client = await Client.connect(stack_env["CO_TEMPORAL_ADDRESS"], namespace=periods_settings.temporal.namespace)
    async with Worker(
        client, task_queue=periods_settings.temporal.task_queue, workflows=WORKFLOWS, activities=build_activities(pres)
    ):
        workflow_id = await start_backfill(client, periods_settings.temporal.task_queue, kind="week", rewrite=False)
        handle = client.get_workflow_handle(workflow_id)
        result: dict[str, Any] = await handle.result()
        progress = await handle.query("progress")
    return {"result": result, "progress": progress}


def test_backfill_writes_every_closed_week_with_progress(backfilled: dict[str, Any], org: ChangingOrg) -> None:
    assert backfilled["result"]["periods"] == org.weeks == 14
    assert backfilled["progress"]["done"] == backfilled["progress"]["total"] == 14


async def test_backfill_is_resumable(pres: Resources, backfilled: dict[str, Any]) -> None:
    assert await periods_to_fill(pres.pg, "week", NOW, rewrite=False) == []  # nothing left to do
    assert len(await periods_to_fill(pres.pg, "week", NOW, rewrite=True)) == 14
    run = await PeriodStore(pres.pg).backfill_run(backfilled["result"]["run_id"])
    assert run is not None and run["status"] == "succeeded" and run["done"] == run["total"] == 14


async def test_planted_reorganisation_is_a_step_in_weekly_readings_and_a_drift_cumulatively(
    pres: Resources, backfilled: dict[str, Any], org: ChangingOrg
) -> None:
    store = PeriodStore(pres.pg)
    rows = await store.team_periods(org.merged_team, "week", org.start.date(), (NOW + timedelta(days=1)).date())
    weekly = [r["cross_team_ratio"] for r in rows]
    assert len(weekly) == 14 and not any(r["withheld"] for r in rows)
    m = org.merge_week
    before, after = weekly[m - 3 : m], weekly[m : m + 3]
    step = weekly[m] - weekly[m - 1]
    # the step happens within one period: week m already reads like the weeks after it
    assert min(before) - max(after) > 0.1, weekly  # ~0.52 -> ~0.33; week-to-week noise ~0.03
    assert step == min(b - a for a, b in zip(weekly, weekly[1:], strict=False))  # the largest drop
    assert abs(weekly[m] - sum(after) / 3) < 0.05
    # the cumulative reading of the same data (all interactions since the start) only drifts
    cumulative = []
    for week in (m - 1, m, m + 3):
        period = Period(org.start, org.start + timedelta(weeks=week + 1), "window")
        outcome = await compute_period(pres.pg, period, MetricDefinitions(), TieRules())
        teams = team_period_figures(outcome.graph.graph, outcome.compute.rows, 5)
        cumulative.append(next(t.figures["cross_team_ratio"] for t in teams if t.team == org.merged_team))
    assert abs(cumulative[1] - cumulative[0]) < abs(step) / 3, (cumulative, step)
    assert cumulative[0] - cumulative[2] < min(before) - max(after)  # even three weeks on, not there yet


async def test_history_rows_per_person_and_team(pres: Resources, backfilled: dict[str, Any], org: ChangingOrg) -> None:
    store = PeriodStore(pres.pg)
    person = next(p for p, t in org.teams.items() if t == org.merged_team)
    rows = await store.employee_periods(person, "week", org.start.date(), (NOW + timedelta(days=1)).date())
    assert len(rows) == 14 and all(r["team"] == org.merged_team for r in rows)
    assert all(r["degree_out"] >= 3 for r in rows)  # teammates with an e-mail and a reply each week
    graphs = await store.period_graphs("week", org.start.date(), (NOW + timedelta(days=1)).date())
    assert [g["mode"] for g in graphs] == ["exact"] * 14 and all(g["epsilon"] == 0.0 for g in graphs)
    assert all(g["people"] == 80 for g in graphs)


@pytest.fixture(scope="module")
def api(periods_settings: Settings, backfilled: dict[str, Any]) -> Iterator[str]:
    with serve("functions.metrics_api.main:app", settings_env(periods_settings)) as base:
        yield base


def auth(settings: Settings, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(settings, subject='periods-test', roles=[role])}"}


def test_team_periods_and_changes_over_http(api: str, periods_settings: Settings, org: ChangingOrg) -> None:
    start = org.start.date().isoformat()
    viewer = auth(periods_settings, "viewer")
    r = httpx.get(f"{api}/v1/metrics/teams/{org.merged_team}/periods?kind=week&start={start}", headers=viewer)
    assert r.status_code == 200, r.text
    points = r.json()["points"]
    assert len(points) == 14 and points[0]["change_cross_team_ratio"] is None  # nothing before week 0
    m = org.merge_week
    assert points[m]["change_cross_team_ratio"] < -0.1
    assert points[m]["members"] == 20 and 0 < points[m]["silo_index"] <= 1 and 0 < points[m]["density"] <= 1
    merge_day = (org.start + timedelta(weeks=m)).date().isoformat()
    changes = httpx.get(f"{api}/v1/metrics/changes?kind=week&period={merge_day}", headers=viewer)
    assert changes.status_code == 200, changes.text
    body = changes.json()
    assert body["previous_start"] == (org.start + timedelta(weeks=m - 1)).date().isoformat()
    merged = next(t for t in body["teams"] if t["team"] == org.merged_team)
    assert merged["change_cross_team_ratio"] == pytest.approx(points[m]["change_cross_team_ratio"])
    latest = httpx.get(f"{api}/v1/metrics/changes", headers=viewer).json()
    assert latest["period_start"] == (org.start + timedelta(weeks=13)).date().isoformat()


def test_abuse_cases(api: str, periods_settings: Settings, org: ChangingOrg) -> None:
    start = org.start.date().isoformat()
    viewer, analyst, admin = (auth(periods_settings, r) for r in ("viewer", "analyst", "admin"))
    person = next(iter(org.teams))
    # nobody: 401; a viewer cannot read a person's periods or who the bridges are
    assert httpx.get(f"{api}/v1/metrics/teams/{org.merged_team}/periods").status_code == 401
    assert httpx.get(f"{api}/v1/metrics/employees/{person}/periods?start={start}", headers=viewer).status_code == 403
    assert httpx.get(f"{api}/v1/metrics/bridges/turnover?start={start}", headers=viewer).status_code == 403
    # an analyst may; turnover names pseudonymous people and compares consecutive weeks only
    ok = httpx.get(f"{api}/v1/metrics/employees/{person}/periods?start={start}", headers=analyst)
    assert ok.status_code == 200 and len(ok.json()["points"]) == 14
    turnover = httpx.get(f"{api}/v1/metrics/bridges/turnover?start={start}", headers=analyst).json()["points"]
    assert len(turnover) == 13 and all(0 <= p["turnover"] <= 1 for p in turnover)
    # only an admin starts a back-fill or reads the runs
    assert httpx.post(f"{api}/v1/metrics/periods/backfill", headers=analyst).status_code == 403
    runs = httpx.get(f"{api}/v1/metrics/periods/backfill/runs", headers=admin)
    assert runs.status_code == 200 and runs.json()[0]["done"] == 14
    # bad input: one error shape, 422
    for query in ("kind=year", "start=2026-02-01&end=2026-01-01", "start=2020-01-01&end=2026-01-01", "extra=1"):
        bad = httpx.get(f"{api}/v1/metrics/teams/{org.merged_team}/periods?{query}", headers=viewer)
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "validation_error", (query, bad.text)
    tuesday = httpx.get(f"{api}/v1/metrics/changes?period=2026-01-06", headers=viewer)
    assert tuesday.status_code == 422
    assert httpx.get(f"{api}/v1/metrics/changes?period=2030-01-07", headers=viewer).status_code == 404


def test_k_rule_withholds_small_teams_and_their_changes(periods_settings: Settings, org: ChangingOrg) -> None:
    """With k = 11 the 10-person teams are withheld (no figures, no change), the merged team of
    20 is not; its first weeks were two groups but one team of 20 on paper, so they show."""
    strict = periods_settings.replace(**{"min_group_size": 11})
    with serve("functions.metrics_api.main:app", settings_env(strict, CO_MIN_GROUP_SIZE="11")) as base:
        viewer = auth(strict, "viewer")
        start = org.start.date().isoformat()
        small = httpx.get(f"{base}/v1/metrics/teams/team-05/periods?start={start}", headers=viewer).json()
        assert all(p["withheld"] and p["members"] is None and p["cross_team_ratio"] is None for p in small["points"])
        assert all(p["change_cross_team_ratio"] is None for p in small["points"])
        body = httpx.get(f"{base}/v1/metrics/changes", headers=viewer).json()
        shown = {t["team"] for t in body["teams"] if not t["withheld"]}
        assert shown == {org.merged_team} and body["min_group_size"] == 11


async def test_causal_panel_takes_each_person_period_from_that_periods_graph(
    pres: Resources, backfilled: dict[str, Any], org: ChangingOrg
) -> None:
    """Back-filled weeks come from the period history; a week not back-filled still falls back
    to averaging the refresh snapshots; a snapshot inside a back-filled week is ignored."""
    person = next(p for p, t in org.teams.items() if t == org.merged_team)
    late = datetime(2026, 6, 3, 12, tzinfo=UTC)  # a Wednesday long after the generated weeks
    inside = org.start + timedelta(weeks=org.merge_week, days=2)
    snapshot = EmployeeMetrics(person, org.merged_team, 1, 1, 1.0, 1.0, 0.5, 0.5, 0.25, None, 0.0, 2, 0, 1)
    store = MetricsStore(pres.pg)
    await store.write_history(late, [snapshot.history_record(late)])
    await store.write_history(inside, [snapshot.history_record(inside)])
    spec = AnalysisSpec(treatment="betweenness", outcome="cross_team_ratio", confounders=["degree_out"], period="week")
    async with pres.pg.acquire() as conn:
        panel = await fetch_panel(conn, spec)
    mine = panel[panel["employee"] == person].sort_values("period")
    assert len(mine) == 15  # 14 back-filled weeks + the late snapshot's week
    history = await PeriodStore(pres.pg).employee_periods(person, "week", org.start.date(), date(2026, 6, 1))
    for row, period in zip(mine.itertuples(), history, strict=False):
        assert row.period == period["period_start"]
        assert row.betweenness == period["betweenness"] and row.cross_team_ratio == period["cross_team_ratio"]
    assert mine.iloc[-1]["period"] == date(2026, 6, 1) and mine.iloc[-1]["betweenness"] == 0.5
    assert 0.5 not in set(mine["betweenness"].iloc[:-1])  # the snapshot inside week 10 lost to the period row
    assert len(panel) > 14 * 70  # nearly every person-week of the organisation


async def test_demo_stage(pres: Resources, backfilled: dict[str, Any], org: ChangingOrg) -> None:
    lines: list[str] = []
    await demo_stage(pres, lines.append)
    assert lines[0].startswith("period history: 14 closed weeks back-filled")
    assert "80 people" in lines[1] and "betweenness exact" in lines[1]
    assert len(lines) == 6  # three teams listed


def test_period_series_cannot_be_differenced() -> None:
    """A team that grows by 1..k-1 people from a shown period is withheld in the new period
    (its figures minus the old ones would describe the newcomers); counts are banded."""
    figures = {f: 0.5 for f in TEAM_FIGURES}
    rows = [
        {"period_start": date(2026, 1, 5), "team": "t", "members": 12, "withheld": False, **figures},
        {"period_start": date(2026, 1, 12), "team": "t", "members": 13, "withheld": False, **figures},
        {"period_start": date(2026, 1, 19), "team": "t", "members": 17, "withheld": False, **figures},
        {"period_start": date(2026, 1, 26), "team": "t", "members": 4, "withheld": True, **dict.fromkeys(figures)},
    ]
    shown = _shown(rows, 5)
    assert [p["withheld"] for p in shown] == [False, True, False, True]
    assert shown[0]["members"] == 10 and shown[2]["members"] == 15  # banded to multiples of 5
    series = changes(shown)
    assert series[1]["change_density"] is None and series[2]["change_density"] is None
