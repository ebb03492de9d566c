"""The interventions HTTP API end to end: real app (lifespan, JWT, permissions), real Temporal
dev server with an in-process worker, real PostgreSQL and the simulator."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from functions.interventions_api.routes import router
from shared.adapters.postgres.audit import AuditStore
from shared.adapters.postgres.causal_store import CausalStore
from shared.platform.http import create_app
from shared.platform.resources import Needs, Resources
from shared.platform.settings import Settings
from shared.platform.tokens import mint_token
from workflows.intervention import WORKFLOWS
from workflows.intervention.activities import build

ROBUST_RESULT = {"treatment": "meeting_load", "outcome": "wellbeing", "effect": -0.4, "ci_low": -0.5, "ci_high": -0.3}
# the proposals' evidence: its analysis_id is set to a stored, finished analysis by the api fixture
EVIDENCE: dict[str, Any] = {"analysis_id": "set-by-fixture", "treatment": "meeting_load", "outcome": "wellbeing"}


async def stored_analysis(pg: Any, verdict: str | None, **result: Any) -> str:
    """An analyses row as the analysis workflow leaves it (succeeded with a result), or queued."""
    store = CausalStore(pg)
    analysis_id = await store.create({"treatment": "meeting_load", "outcome": "wellbeing"}, "test")
    if verdict is not None:
        await store.complete(analysis_id, {**ROBUST_RESULT, **result, "verdict": verdict}, {"test": True})
    return analysis_id


@pytest.fixture(scope="module")
async def api(iv_settings: Settings, resources: Resources) -> AsyncIterator[tuple[httpx.AsyncClient, Settings]]:
    settings = iv_settings.replace(
        **{
            "monitoring_window_s": 1.0,
            "rollback_window_s": 120.0,
            "intervention_task_queue": f"api-{uuid.uuid4().hex[:8]}",
        }
    )
    app = create_app(title="t", needs=Needs(pg=True, temporal=True), routers=[router], settings=settings)
    EVIDENCE["analysis_id"] = await stored_analysis(resources.pg, "robust")
    client = await Client.connect(settings.temporal.address, namespace=settings.temporal.namespace)
    acts = build(settings, AuditStore(resources.pg, resources.settings.audit.key))
    with ThreadPoolExecutor(4) as pool:
        async with (
            Worker(
                client,
                task_queue=settings.interventions.intervention_task_queue or "",
                workflows=WORKFLOWS,
                activities=acts.all(),
                activity_executor=pool,
            ),
            app.router.lifespan_context(app),
        ):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://api", timeout=60) as http:
                yield http, settings


def auth(settings: Settings, role: str, subject: str | None = None) -> dict[str, str]:
    return {"authorization": "Bearer " + mint_token(settings, subject=subject or f"{role}-1", roles=[role])}


async def propose(http: httpx.AsyncClient, settings: Settings, type_: str, people: int, **params: float) -> Any:
    tag = uuid.uuid4().hex[:8]
    body = {
        "type": type_,
        "target": {"people": [f"api-{tag}-{i}" for i in range(people)], "teams": []},
        "parameters": params,
        "evidence": EVIDENCE,
    }
    r = await http.post("/v1/interventions", json=body, headers=auth(settings, "analyst"))
    assert r.status_code == 202, r.text
    return r.json()


async def wait_for(http: httpx.AsyncClient, settings: Settings, iid: str, *status: str) -> dict[str, Any]:
    for _ in range(400):
        r = await http.get(f"/v1/interventions/{iid}", headers=auth(settings, "analyst"))
        if r.status_code == 200 and r.json()["status"] in status:
            return r.json()
        await asyncio.sleep(0.1)
    raise AssertionError(f"{iid} never reached {status}: {r.text}")


async def test_low_impact_runs_and_can_be_rolled_back_by_an_approver(
    api: tuple[httpx.AsyncClient, Settings],
) -> None:
    http, settings = api
    out = await propose(http, settings, "focus_time_block", 2, hours_per_week=4)
    assert out["impact"]["level"] == "low" and out["requires_approval"] is False
    iid = out["intervention_id"]
    got = await wait_for(http, settings, iid, "succeeded")
    assert got["live"]["status"] == "succeeded" and got["live"]["outcome"]["verdict"] == "neutral"
    r = await http.post(f"/v1/interventions/{iid}/rollback", json={"reason": "nope"}, headers=auth(settings, "analyst"))
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    r = await http.post(
        f"/v1/interventions/{iid}/rollback",
        json={"reason": "team asked to undo"},
        headers=auth(settings, "approver"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "rolled_back" and r.json()["restored"] is True
    r = await http.get("/v1/audit", params={"intervention_id": iid}, headers=auth(settings, "approver"))
    assert [a["event"] for a in r.json()][-2:] == ["rollback_started", "rolled_back"]
    assert r.json()[-1]["actor"] == "approver-1" and r.json()[-1]["details"]["reason"] == "team asked to undo"


async def test_high_impact_waits_in_the_queue_until_an_approver_decides(
    api: tuple[httpx.AsyncClient, Settings],
) -> None:
    http, settings = api
    out = await propose(http, settings, "manager_nudge", 2)
    iid = out["intervention_id"]
    assert out["impact"]["level"] == "high" and out["requires_approval"] is True
    await wait_for(http, settings, iid, "awaiting_approval")
    r = await http.get("/v1/approvals/pending", headers=auth(settings, "approver"))
    mine = [x for x in r.json() if x["intervention_id"] == iid]
    assert len(mine) == 1 and 86_000 < mine[0]["time_left_s"] <= 86_400

    r = await http.post(f"/v1/interventions/{iid}/approve", json={"reason": "fine"}, headers=auth(settings, "analyst"))
    assert r.status_code == 403
    r = await http.post(f"/v1/interventions/{iid}/approve", json={"reason": "x"}, headers=auth(settings, "approver"))
    assert r.status_code == 422  # a real reason is required
    r = await http.post(
        f"/v1/interventions/{iid}/approve",
        json={"reason": "robust finding"},
        headers=auth(settings, "approver", "bob"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["decision"] == {**r.json()["decision"], "actor": "bob", "reason": "robust finding"}
    r = await http.post(f"/v1/interventions/{iid}/reject", json={"reason": "too late"}, headers=auth(settings, "admin"))
    assert r.status_code == 409  # already decided
    await wait_for(http, settings, iid, "succeeded")
    r = await http.get("/v1/approvals/history", headers=auth(settings, "analyst"))
    assert r.status_code == 403  # decisions are audit rows: read:audit
    r = await http.get("/v1/approvals/history", headers=auth(settings, "approver"))
    assert any(h["intervention_id"] == iid and h["actor"] == "bob" and h["event"] == "approved" for h in r.json())
    r = await http.get("/v1/audit", params={"actor": "bob"}, headers=auth(settings, "analyst"))
    assert r.status_code == 403  # the audit log needs read:audit
    r = await http.get("/v1/audit", params={"actor": "bob"}, headers=auth(settings, "approver"))
    assert [a["event"] for a in r.json() if a["intervention_id"] == iid] == ["approved"]


async def test_reject_and_errors(api: tuple[httpx.AsyncClient, Settings]) -> None:
    http, settings = api
    out = await propose(http, settings, "manager_nudge", 1)
    iid = out["intervention_id"]
    await wait_for(http, settings, iid, "awaiting_approval")
    r = await http.post(f"/v1/interventions/{iid}/reject", json={"reason": "not now"}, headers=auth(settings, "admin"))
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    got = await wait_for(http, settings, iid, "rejected")
    assert got["decided_by"] == "admin-1" and got["decision_reason"] == "not now"

    bad = {"type": "focus_time_block", "target": {"people": ["p"]}, "parameters": {"hours_per_week": 99}}
    r = await http.post("/v1/interventions", json={**bad, "evidence": EVIDENCE}, headers=auth(settings, "analyst"))
    assert r.status_code == 422 and "hours_per_week" in r.json()["error"]["message"]
    r = await http.post("/v1/interventions", json={**bad, "evidence": EVIDENCE}, headers=auth(settings, "approver"))
    assert r.status_code == 403
    r = await http.get("/v1/interventions/does-not-exist", headers=auth(settings, "analyst"))
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = await http.post("/v1/interventions/nope/approve", json={"reason": "why"}, headers=auth(settings, "approver"))
    assert r.status_code == 404
    r = await http.get("/v1/audit/verify", headers=auth(settings, "approver"))
    assert r.status_code == 200 and r.json()["ok"] is True and r.json()["rows"] > 0


async def test_evidence_is_the_stored_analysis(api: tuple[httpx.AsyncClient, Settings], resources: Resources) -> None:
    """A fabricated or unfinished analysis id is refused; a client-sent verdict changes nothing."""
    http, settings = api
    h = auth(settings, "analyst")
    body = {"type": "focus_time_block", "target": {"people": ["ev-1", "ev-2"]}, "parameters": {"hours_per_week": 4}}
    for fake in (str(uuid.uuid4()), "an-api", await stored_analysis(resources.pg, None)):
        r = await http.post("/v1/interventions", json={**body, "evidence": {"analysis_id": fake}}, headers=h)
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == "validation_error"
        assert "no analysis" in r.json()["error"]["message"] or "not finished" in r.json()["error"]["message"]
    r = await http.post(
        "/v1/interventions", json={**body, "evidence": {**EVIDENCE, "treatment": "cross_team_ratio"}}, headers=h
    )
    assert r.status_code == 422 and "is about treatment" in r.json()["error"]["message"]

    # the abuse case: a client types "robust" (and a tight interval) over a non-robust analysis
    weak = await stored_analysis(resources.pg, "not_significant", effect=-0.05, ci_low=-0.3, ci_high=0.2)
    lie = {"analysis_id": weak, "effect": -0.4, "ci_low": -0.41, "ci_high": -0.39, "verdict": "robust"}
    r = await http.post("/v1/interventions", json={**body, "evidence": lie}, headers=h)
    assert r.status_code == 202, r.text
    assert r.json()["impact"]["level"] == "high" and r.json()["requires_approval"] is True
    assert "evidence weak" in r.json()["impact"]["reasons"]
    # and the other way round: "fragile" typed over a robust analysis does not lower it either
    honest = {**EVIDENCE, "verdict": "fragile", "effect": 0.0, "ci_low": -1.0, "ci_high": 1.0}
    r = await http.post("/v1/interventions", json={**body, "evidence": honest}, headers=h)
    assert r.status_code == 202 and r.json()["impact"]["level"] == "low"
    got = await wait_for(http, settings, r.json()["intervention_id"], "succeeded", "monitoring", "executing")
    assert got["intervention_id"] == r.json()["intervention_id"]
