"""The metrics API as a real process over HTTP, reading what a refresh of the real email-Eu-core
network materialised: permissions, withheld small teams, history granularity, 422s, and the
on-demand refresh through Temporal (dev server + a worker in this test)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from ops.processes import serve, settings_env
from shared.adapters.datasets import eu_core
from shared.adapters.graph.base import PersonRow, TieRow
from shared.adapters.postgres.metrics_store import MetricsStore
from shared.platform.resources import Resources
from shared.platform.settings import Settings
from shared.platform.tokens import mint_token
from shared.services.metrics_refresh import refresh_metrics
from workflows.metrics_refresh import WORKFLOWS
from workflows.metrics_refresh.activities import build_activities


@pytest.fixture(scope="module")
async def refreshed(mres: Resources, data_dir: Path) -> dict[str, Any]:
    teams, edges = eu_core(data_dir)
    await mres.graph.clear()
    await mres.graph.upsert_people([PersonRow(id=p, version=1, team=t) for p, t in teams.items()])
    await mres.graph.upsert_ties([TieRow(a, b, 1, 1.0, 1) for a, b in set(edges)])
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    result = await refresh_metrics(mres, trigger="test", force=True, now=at)
    assert result.status == "succeeded"
    summary = await MetricsStore(mres.pg).latest_summary()
    assert summary is not None
    return {"at": at, "teams": teams, "summary": summary}


@pytest.fixture(scope="module")
def api(metrics_settings: Settings) -> Iterator[str]:
    with serve("functions.metrics_api.main:app", settings_env(metrics_settings)) as base:
        yield base


def auth(settings: Settings, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(settings, subject='metrics-test', roles=[role])}"}


def test_employee_metrics_are_the_materialised_values(
    api: str, metrics_settings: Settings, refreshed: dict[str, Any]
) -> None:
    top = refreshed["summary"]["bridges"][0]
    r = httpx.get(f"{api}/v1/metrics/employees/{top['employee']}", headers=auth(metrics_settings, "analyst"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert math.isclose(body["betweenness"], top["betweenness"], rel_tol=1e-12)
    assert body["team"] == refreshed["teams"][top["employee"]]
    assert body["network_size"] == top["network_size"] and body["metrics_at"] is not None
    assert httpx.get(f"{api}/v1/metrics/employees/nobody", headers=auth(metrics_settings, "analyst")).status_code == 404
    assert httpx.get(f"{api}/v1/metrics/employees/{top['employee']}").status_code == 401
    denied = httpx.get(f"{api}/v1/metrics/employees/{top['employee']}", headers=auth(metrics_settings, "viewer"))
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "forbidden"


def test_top_bridges(api: str, metrics_settings: Settings, refreshed: dict[str, Any]) -> None:
    r = httpx.get(f"{api}/v1/metrics/bridges?limit=5", headers=auth(metrics_settings, "analyst"))
    assert r.status_code == 200
    bridges = r.json()["bridges"]
    assert len(bridges) == 5
    assert [b["employee"] for b in bridges] == [b["employee"] for b in refreshed["summary"]["bridges"][:5]]
    assert all(a["betweenness"] >= b["betweenness"] for a, b in zip(bridges, bridges[1:], strict=False))
    assert httpx.get(f"{api}/v1/metrics/bridges?limit=0", headers=auth(metrics_settings, "analyst")).status_code == 422
    assert httpx.get(f"{api}/v1/metrics/bridges", headers=auth(metrics_settings, "viewer")).status_code == 403


def test_team_summaries_withhold_small_teams(api: str, metrics_settings: Settings, refreshed: dict[str, Any]) -> None:
    r = httpx.get(f"{api}/v1/metrics/teams?sort=load", headers=auth(metrics_settings, "viewer"))
    assert r.status_code == 200
    teams = r.json()["teams"]
    sizes: dict[str, int] = {}
    for t in refreshed["teams"].values():
        sizes[t] = sizes.get(t, 0) + 1
    assert len(teams) == len(sizes) == 42
    for t in teams:
        if sizes[t["team"]] < 5:
            assert t["withheld"] and t["members"] is None and t["figures"] is None
        elif not t["withheld"]:  # banded counts (docs/security.md)
            assert t["members"] == sizes[t["team"]] // 5 * 5 and "load_index" in t["figures"]
    hidden = sum(sizes[t["team"]] for t in teams if t["withheld"])
    assert hidden == 0 or hidden >= 5  # complementary suppression
    shown = [t["figures"]["load_index"] for t in teams if not t["withheld"]]
    assert shown == sorted(shown, reverse=True) and teams[-1]["withheld"]


def test_graph_stats(api: str, metrics_settings: Settings, refreshed: dict[str, Any]) -> None:
    r = httpx.get(f"{api}/v1/metrics/graph", headers=auth(metrics_settings, "viewer"))
    assert r.status_code == 200
    g = r.json()
    shown = [t for t in refreshed["summary"]["teams"] if not t["withheld"]]
    assert g["people"] == sum(t["members"] for t in shown) < 1005  # the shown teams' people only
    assert g["ties"] < 24929 and g["mode"] == "exact"


def test_history_granularities_and_bad_ranges(api: str, metrics_settings: Settings, refreshed: dict[str, Any]) -> None:
    at: datetime = refreshed["at"]
    person = refreshed["summary"]["bridges"][0]["employee"]
    h = auth(metrics_settings, "analyst")
    params = {"start": (at - timedelta(hours=2)).isoformat(), "end": (at + timedelta(hours=2)).isoformat()}
    for gran in ("raw", "hour", "day", "auto"):
        r = httpx.get(f"{api}/v1/metrics/employees/{person}/history", params=params | {"granularity": gran}, headers=h)
        assert r.status_code == 200, r.text
        points = r.json()["points"]
        assert len(points) >= 1
        assert any(math.isclose(p["betweenness"], refreshed["summary"]["bridges"][0]["betweenness"]) for p in points)
    assert r.json()["granularity"] == "raw"  # auto over 4 hours
    long = {"start": (at - timedelta(days=90)).isoformat(), "end": at.isoformat()}
    r = httpx.get(f"{api}/v1/metrics/employees/{person}/history", params=long, headers=h)
    assert r.status_code == 200 and r.json()["granularity"] == "day"
    bad = [
        {"start": params["end"], "end": params["start"]},  # reversed
        long | {"granularity": "raw"},  # raw over 90 days: use the rollups
        params | {"granularity": "minute"},
        {"start": "2031-01-01T00:00:00", "end": "2031-01-02T00:00:00"},  # no time zone
        {"start": (at - timedelta(days=1000)).isoformat(), "end": at.isoformat()},  # beyond rollup retention
    ]
    for q in bad:
        r = httpx.get(f"{api}/v1/metrics/employees/{person}/history", params=q, headers=h)
        assert r.status_code == 422, (q, r.text)
        assert r.json()["error"]["code"] == "validation_error"


def test_team_history_respects_min_group_size(api: str, metrics_settings: Settings, refreshed: dict[str, Any]) -> None:
    at: datetime = refreshed["at"]
    sizes: dict[str, int] = {}
    for t in refreshed["teams"].values():
        sizes[t] = sizes.get(t, 0) + 1
    big = max(sizes, key=lambda t: sizes[t])
    small = min(sizes, key=lambda t: sizes[t])
    assert sizes[small] < 5 <= sizes[big]
    params = {"start": (at - timedelta(days=3)).isoformat(), "end": (at + timedelta(hours=1)).isoformat()}
    h = auth(metrics_settings, "viewer")
    r = httpx.get(f"{api}/v1/metrics/teams/{big}/history", params=params, headers=h)
    assert r.status_code == 200 and r.json()["granularity"] == "hour"
    assert r.json()["points"] and all(p["members"] >= 5 for p in r.json()["points"])
    r = httpx.get(f"{api}/v1/metrics/teams/{small}/history", params=params, headers=h)
    assert r.status_code == 200 and r.json()["points"] == []


async def test_on_demand_refresh_through_temporal(
    api: str,
    metrics_settings: Settings,
    mres: Resources,
    refreshed: dict[str, Any],
    stack_env: dict[str, str],
) -> None:
    client = await Client.connect(stack_env["CO_TEMPORAL_ADDRESS"], namespace=metrics_settings.temporal.namespace)
    async with Worker(
        client,
        task_queue=metrics_settings.temporal.task_queue,
        workflows=WORKFLOWS,
        activities=build_activities(mres),
    ):
        assert httpx.post(f"{api}/v1/metrics/refresh", headers=auth(metrics_settings, "analyst")).status_code == 403
        async with httpx.AsyncClient(timeout=30) as http:
            r = await http.post(f"{api}/v1/metrics/refresh?force=true", headers=auth(metrics_settings, "admin"))
        assert r.status_code == 202, r.text
        result = await client.get_workflow_handle(r.json()["workflow_id"]).result()
    assert result["status"] == "succeeded" and result["people"] == 1005
    runs = httpx.get(f"{api}/v1/metrics/runs?limit=1", headers=auth(metrics_settings, "admin")).json()
    assert runs[0]["run_id"] == result["run_id"] and runs[0]["trigger"] == "api"
