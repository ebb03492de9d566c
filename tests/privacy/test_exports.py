"""Exports end to end: real app (JWT, permissions), PostgreSQL, a Temporal worker, SeaweedFS S3.

The downloaded CSV equals the API's data row for row; a viewer's team export has no row for a
withheld team; formula-like cells come out neutralised; links expire; the sweeper deletes the
object (time shifted); nobody reads someone else's export.
"""

from __future__ import annotations

import asyncio
import csv
import gzip
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from shared.adapters.objects import object_exists
from shared.adapters.postgres import audit
from shared.adapters.postgres.exports_store import ExportsStore
from shared.adapters.postgres.metrics_store import MetricsStore
from shared.domain.metrics import HISTORY_COLUMNS
from shared.platform.resources import Resources
from shared.platform.settings import Settings
from shared.services.exports import sweep_exports
from tests.privacy.conftest import auth, finished

T0 = datetime(2026, 11, 20, tzinfo=UTC)
POINTS = 30  # refreshes, 2 hours apart
# team -> members; "small" is under the minimum group size (5); the others start like formulas
TEAMS = {"alpha": 7, "small": 3, "=SUM(A1:A9)": 5, "+cmd": 5, "-2+3": 5, "@import": 5}


def _people() -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for t, (team, n) in enumerate(TEAMS.items()):
        out += [(f"p_{t:02d}{i:030d}", team) for i in range(n)]
    return out


@pytest.fixture(scope="module")
async def history(pres: Resources) -> list[tuple[str, str]]:
    """Metric history for every person at POINTS refreshes, plus a refresh summary with teams."""
    people = _people()
    store = MetricsStore(pres.pg)
    for k in range(POINTS):
        at = T0 + timedelta(hours=2 * k)
        rows = []
        for n, (pid, team) in enumerate(people):
            values: list[Any] = [n % 4, (n + k) % 5, 1.5 * n, -0.25 * k, (n * k) / 1000.0, 0.1, None, 0.05 * n]
            values += [float(k % 7), n % 9, n % 3, 1]
            rows.append((at, pid, team, *values))
        assert len(rows[0]) == len(HISTORY_COLUMNS)
        await store.write_history(at, rows)
    run_id = await store.start_run("test")
    teams = [
        {"team": team, "withheld": n < 5, "members": n, "figures": {"load_index": 1.0 + i, "meeting_hours": 2.5}}
        for i, (team, n) in enumerate(TEAMS.items())
    ]
    await store.save_summary(run_id, T0, {"people": len(people)}, [], teams)
    return people


async def _wait(api: httpx.AsyncClient, headers: dict[str, str], export_id: str) -> dict[str, Any]:
    return await finished(api, headers, f"/v1/exports/{export_id}", 120)


async def _run(api: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    """Request an export and wait until it ends; its final state."""
    r = await api.post("/v1/exports", json=body, headers=headers)
    assert r.status_code == 202, r.text
    return await _wait(api, headers, r.json()["id"])


async def _export(api: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> tuple[dict[str, Any], bytes]:
    done = await _run(api, headers, **body)
    assert done["status"] == "succeeded", done
    link = await api.post(f"/v1/exports/{done['id']}/link", headers=headers)
    assert link.status_code == 200, link.text
    got = await asyncio.to_thread(httpx.get, link.json()["url"], timeout=30)
    assert got.status_code == 200, got.text
    return done, got.content


def _rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8"))))


def _same(csv_value: str, api_value: Any) -> bool:
    if api_value is None:
        return csv_value == ""
    if isinstance(api_value, int | float):
        return float(csv_value) == pytest.approx(float(api_value), rel=1e-12, abs=1e-12)
    return datetime.fromisoformat(csv_value) == datetime.fromisoformat(api_value)


async def test_employee_history_export_equals_the_api_row_for_row(
    api: httpx.AsyncClient, privacy_settings: Settings, history: list[tuple[str, str]]
) -> None:
    analyst = auth(privacy_settings, "analyst")
    window = {"start": T0.isoformat(), "end": (T0 + timedelta(days=3)).isoformat(), "granularity": "raw"}
    done, content = await _export(api, analyst, kind="employee_history", **window)
    rows = _rows(content)
    expected: list[tuple[str, dict[str, Any]]] = []
    for pid, _ in sorted(history):
        r = await api.get(f"/v1/metrics/employees/{pid}/history", params=window, headers=analyst)
        assert r.status_code == 200, r.text
        expected += [(pid, point) for point in r.json()["points"]]
    assert len(rows) == len(expected) == len(history) * POINTS == done["rows"]
    assert done["percent"] == 100.0 and done["bytes"] == len(content)
    for row, (pid, point) in zip(rows, expected, strict=True):
        assert row["employee"] == pid
        for key, value in point.items():
            if key == "members":
                continue
            assert _same(row[key], value), (pid, key, row[key], value)


async def test_gzip_team_history_equals_the_api(
    api: httpx.AsyncClient, privacy_settings: Settings, history: list[tuple[str, str]]
) -> None:
    viewer = auth(privacy_settings, "viewer")
    window = {"start": T0.isoformat(), "end": (T0 + timedelta(days=3)).isoformat(), "granularity": "hour"}
    _, content = await _export(api, viewer, kind="team_history", team="alpha", gzip=True, **window)
    rows = _rows(gzip.decompress(content))
    r = await api.get("/v1/metrics/teams/alpha/history", params=window, headers=viewer)
    points = r.json()["points"]
    assert len(rows) == len(points) == POINTS
    for row, point in zip(rows, points, strict=True):
        assert row["team"] == "alpha"
        assert all(_same(row[k], v) for k, v in point.items() if k != "samples"), (row, point)
    # the small team's history: the API shows no point, nor does the export
    _, small = await _export(api, viewer, kind="team_history", team="small", **window)
    assert _rows(small) == []


async def test_viewer_team_export_withholds_small_teams_and_neutralises_formulas(
    api: httpx.AsyncClient, privacy_settings: Settings, history: list[tuple[str, str]]
) -> None:
    viewer = auth(privacy_settings, "viewer")
    _, content = await _export(api, viewer, kind="team_metrics")
    text = content.decode()
    rows = _rows(content)
    names = [r["team"] for r in rows]
    assert "small" not in names and "small" not in text  # no row at all for a withheld team
    assert names == ["alpha", "'=SUM(A1:A9)", "'+cmd", "'-2+3", "'@import"]
    assert not any(line.startswith(("=", "+", "-", "@")) for cell_line in text.splitlines() for line in [cell_line])
    alpha = rows[0]
    assert alpha["members"] == "5" and float(alpha["load_index"]) == 1.0  # 7 members, banded (docs/security.md)
    api_teams = (await api.get("/v1/metrics/teams", headers=viewer)).json()["teams"]
    assert [t["team"] for t in api_teams if not t["withheld"]] == [n.lstrip("'") for n in names]


async def test_link_expires_and_sweep_deletes_the_object(
    api: httpx.AsyncClient, pres: Resources, privacy_settings: Settings, history: list[tuple[str, str]]
) -> None:
    viewer = auth(privacy_settings, "viewer", "viewer-sweep")
    done = await _run(api, viewer, kind="team_metrics")
    export_id = done["id"]
    assert done["status"] == "succeeded"
    link = (await api.post(f"/v1/exports/{export_id}/link", params={"expires_in_s": 2}, headers=viewer)).json()
    assert (await asyncio.to_thread(httpx.get, link["url"])).status_code == 200
    await asyncio.sleep(3.5)
    assert (await asyncio.to_thread(httpx.get, link["url"])).status_code == 403  # expired signature
    again = await api.post(f"/v1/exports/{export_id}/link", headers=viewer)  # re-issued on request
    assert again.status_code == 200 and (await asyncio.to_thread(httpx.get, again.json()["url"])).status_code == 200
    # a week later the sweeper deletes the object; no link can be issued any more
    key = (await ExportsStore(pres.pg).get(export_id)).object_key  # type: ignore[union-attr]
    assert await asyncio.to_thread(object_exists, pres.s3, privacy_settings.s3.bucket, key)
    early = await sweep_exports(pres, datetime.now(UTC) + timedelta(days=6))
    assert await asyncio.to_thread(object_exists, pres.s3, privacy_settings.s3.bucket, key), early
    await sweep_exports(pres, datetime.now(UTC) + timedelta(days=7, minutes=1))
    assert not await asyncio.to_thread(object_exists, pres.s3, privacy_settings.s3.bucket, key)
    assert (await _wait(api, viewer, export_id))["status"] == "expired"
    gone = await api.post(f"/v1/exports/{export_id}/link", headers=viewer)
    assert gone.status_code == 409 and gone.json()["error"]["code"] == "conflict"
    assert (await asyncio.to_thread(httpx.get, again.json()["url"])).status_code == 404


async def test_exports_and_links_are_audited(
    api: httpx.AsyncClient, pres: Resources, privacy_settings: Settings, history: list[tuple[str, str]]
) -> None:
    viewer = auth(privacy_settings, "viewer", "viewer-audit")
    export_id = (await _run(api, viewer, kind="team_metrics"))["id"]
    await api.post(f"/v1/exports/{export_id}/link", headers=viewer)
    async with pres.pg.acquire() as conn:
        rows = await audit.query(conn, intervention_id=f"export:{export_id}")
    assert [(a.event, a.actor) for a in rows] == [
        ("export.requested", "viewer-audit"),
        ("export.link_issued", "viewer-audit"),
    ]
    # an approver (read:audit) can export the audit trail, which holds these rows
    approver = auth(privacy_settings, "approver")
    window = {"start": (datetime.now(UTC) - timedelta(hours=1)).isoformat(), "end": datetime.now(UTC).isoformat()}
    _, content = await _export(api, approver, kind="audit", **window)
    assert {r["event"] for r in _rows(content) if r["subject"] == f"export:{export_id}"} == {
        "export.requested",
        "export.link_issued",
    }


async def test_abuse_cases(
    api: httpx.AsyncClient, pres: Resources, privacy_settings: Settings, history: list[tuple[str, str]]
) -> None:
    viewer = auth(privacy_settings, "viewer", "viewer-abuse")
    analyst = auth(privacy_settings, "analyst", "analyst-abuse")
    # no token; a viewer asking for individual data or the audit trail; a service token
    assert (await api.post("/v1/exports", json={"kind": "team_metrics"})).status_code == 401
    for kind in ("employee_history", "audit", "analyses"):
        r = await api.post("/v1/exports", json={"kind": kind}, headers=viewer)
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden", (kind, r.text)
    r = await api.post("/v1/exports", json={"kind": "team_metrics"}, headers=auth(privacy_settings, "service"))
    assert r.status_code == 403
    # bad input: unknown kind, extra field, inverted range, a path in the team, link expiry > 24 h
    for body in (
        {"kind": "everything"},
        {"kind": "team_metrics", "sql": "select 1"},
        {"kind": "team_history", "start": "2026-02-01T00:00:00Z", "end": "2026-01-01T00:00:00Z"},
        {"kind": "team_history", "team": "../../etc"},
        {"kind": "team_metrics", "employee": "p_x"},
    ):
        r = await api.post("/v1/exports", json=body, headers=analyst)
        assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error", (body, r.text)
    # someone else's export is not found (not forbidden: its existence is not disclosed)
    mine = (await api.post("/v1/exports", json={"kind": "team_metrics"}, headers=analyst)).json()["id"]
    await _wait(api, analyst, mine)
    assert (await api.get(f"/v1/exports/{mine}", headers=viewer)).status_code == 404
    assert (await api.post(f"/v1/exports/{mine}/link", headers=viewer)).status_code == 404
    assert (await api.post(f"/v1/exports/{mine}/cancel", headers=viewer)).status_code == 404
    assert mine not in {e["id"] for e in (await api.get("/v1/exports", headers=viewer)).json()}
    assert mine in {e["id"] for e in (await api.get("/v1/exports", headers=analyst)).json()}
    r = await api.post(f"/v1/exports/{mine}/link", params={"expires_in_s": 86_401}, headers=analyst)
    assert r.status_code == 422
    r = await api.post(f"/v1/exports/{mine}/cancel", headers=analyst)
    assert r.status_code == 409  # already finished
    assert (await api.get("/v1/exports/not-a-uuid", headers=analyst)).status_code == 422


async def test_roles_are_checked_again_when_the_export_runs(pres: Resources, history: list[tuple[str, str]]) -> None:
    """A row whose recorded roles do not allow the kind (forged or since changed) is refused by
    the activity, with the API's own permission table."""
    import uuid

    from shared.services.exports import ExportRefused, run_export

    export_id = str(uuid.uuid4())
    await ExportsStore(pres.pg).create(export_id, "employee_history", {}, "mallory", ["viewer"], False, "wf")
    with pytest.raises(ExportRefused):
        await run_export(pres, export_id)
    row = await ExportsStore(pres.pg).get(export_id)
    assert row is not None and row.status == "failed" and row.object_key is None


async def test_analyses_export_carries_results_with_diagnostics_and_progress_is_pushed(
    api: httpx.AsyncClient, pres: Resources, privacy_settings: Settings, history: list[tuple[str, str]]
) -> None:
    import json
    import uuid

    result = {"effect": -0.42, "ci": [-0.6, -0.2], "diagnostics": {"overlap": "ok", "refuters": {"placebo": 0.01}}}
    analysis_id = str(uuid.uuid4())
    async with pres.pg.acquire() as conn:
        await conn.execute(
            """INSERT INTO analyses (id, spec, status, result, requested_by)
               VALUES ($1, '{"treatment": "meeting_hours", "outcome": "wellbeing"}', 'succeeded', $2::jsonb, 'a')""",
            analysis_id,
            json.dumps(result),
        )
    pubsub = pres.redis.pubsub()
    await pubsub.subscribe(privacy_settings.graph.changed_channel)
    try:
        _, content = await _export(api, auth(privacy_settings, "analyst", "analyst-analyses"), kind="analyses")
        pushed: list[dict[str, Any]] = []
        for _ in range(50):
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.2)
            if message is not None:
                pushed.append(json.loads(message["data"]))
            if any(m.get("kind") == "export" and m["status"] == "succeeded" for m in pushed):
                break
    finally:
        await pubsub.unsubscribe()
        await pubsub.aclose()
    row = next(r for r in _rows(content) if r["id"] == analysis_id)
    assert (row["treatment"], row["outcome"], row["status"]) == ("meeting_hours", "wellbeing", "succeeded")
    assert json.loads(row["result_with_diagnostics"]) == result
    done = [m for m in pushed if m.get("kind") == "export" and m["status"] == "succeeded"]
    assert done and done[-1]["rows"] >= 1 and done[-1]["percent"] == 100.0


async def test_a_cancelled_export_writes_nothing(pres: Resources, history: list[tuple[str, str]]) -> None:
    """Cancel wins over a worker that picks the export up afterwards (the status guard)."""
    import uuid

    from shared.services.exports import ExportCancelled, run_export

    export_id = str(uuid.uuid4())
    store = ExportsStore(pres.pg)
    await store.create(export_id, "team_metrics", {}, "analyst-c", ["analyst"], False, "wf")
    assert await store.finish(export_id, "cancelled")
    with pytest.raises(ExportCancelled):
        await run_export(pres, export_id)
    row = await store.get(export_id)
    assert row is not None and row.status == "cancelled" and row.object_key is None
