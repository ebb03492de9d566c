"""The analysis API end to end: real app (JWT, permissions), real PostgreSQL, real Temporal dev
server with an in-process worker running the analysis workflow."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from temporalio.worker import Worker

from functions.analysis_api.routes import router
from shared.domain.analysis import AnalysisSpec, Window
from shared.domain.privacy import pseudonymise
from shared.domain.synthetic_org import generate_org
from shared.platform.http import create_app
from shared.platform.resources import Needs, Resources
from shared.platform.settings import Settings
from shared.platform.tokens import mint_token
from shared.services.causal_analysis import ProgressState, compute
from shared.services.synthetic_org import load_org
from workflows.analysis import WORKFLOWS
from workflows.analysis.activities import build_activities

WEEK0 = date(2026, 1, 5)
WINDOW = {"start": "2026-01-05", "end": "2026-03-23"}  # 12 weeks


@pytest.fixture(scope="module")
async def api(causal_settings: Settings, cres: Resources) -> AsyncIterator[httpx.AsyncClient]:
    # moderate team confounding: a hidden confounder as strong as the team could not explain it away
    org = generate_org(11, people=200, weeks=12, first_week=WEEK0, load_on_treatment=1.0, load_on_outcome=-1.0)
    await load_org(cres, org)
    app = create_app(title="t", needs=Needs(pg=True, temporal=True), routers=[router], settings=causal_settings)
    client = await cres.temporal()
    with ThreadPoolExecutor(4) as pool:
        async with (
            Worker(
                client,
                task_queue=causal_settings.temporal.task_queue,
                workflows=WORKFLOWS,
                activities=build_activities(cres),
                activity_executor=pool,
            ),
            app.router.lifespan_context(app),
        ):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://api", timeout=120) as http:
                yield http


def auth(settings: Settings, role: str) -> dict[str, str]:
    return {"authorization": "Bearer " + mint_token(settings, subject=f"{role}-1", roles=[role])}


def spec(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "treatment": "meeting_hours",
        "outcome": "wellbeing",
        "confounders": ["team", "role", "tenure_years"],
        "window": WINDOW,
        "refuter_simulations": 5,
    }
    return body | over


async def wait_done(http: httpx.AsyncClient, headers: dict[str, str], analysis_id: str) -> dict[str, Any]:
    seen: list[str] = []
    for _ in range(240):
        r = await http.get(f"/v1/analyses/{analysis_id}", headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        seen.append(body["progress"].get("stage", ""))
        if body["status"] in ("succeeded", "failed", "cancelled"):
            body["stages_seen"] = seen
            return body  # type: ignore[no-any-return]
        await asyncio.sleep(0.5)
    raise AssertionError(f"analysis {analysis_id} did not finish: {seen[-5:]}")


async def test_analysis_runs_as_workflow_and_recovers_planted_effect(
    api: httpx.AsyncClient, causal_settings: Settings
) -> None:
    h = auth(causal_settings, "analyst")
    r = await api.post("/v1/analyses", json=spec(), headers=h)
    assert r.status_code == 202, r.text
    started = r.json()
    assert started["rows"] == 200 * 12 and started["status"] == "queued"
    done = await wait_done(api, h, started["id"])
    assert done["status"] == "succeeded", done
    r = await api.get(started["result_url"], headers=h)
    assert r.status_code == 200
    body = r.json()
    result, prov = body["result"], body["provenance"]
    assert abs(result["effect"] - (-0.4)) < 0.06
    assert result["ci_low"] < -0.4 < result["ci_high"] or abs(result["effect"] + 0.4) < 0.04
    assert result["verdict"] == "robust" and len(result["refutations"]) == 3, result["verdict_reasons"]
    # the structure the web app and reports read (docs/causal.md, "Result")
    assert result["estimand"] == "att" and result["std_error_kind"] == "cluster:person" and result["clusters"] == 200
    assert result["diagnostics"]["overlap"]["kind"] == "continuous"
    assert {row["column"] for row in result["diagnostics"]["balance"]} >= {"tenure_years", "role=manager"}
    assert result["sensitivity"]["benchmark"] in ("team", "role", "tenure_years")
    assert 0 < result["sensitivity"]["robustness_value"] < 1 and result["sensitivity"]["e_value"] > 1
    assert all(r["p_value"] is not None for r in result["refutations"])
    assert result["engine"] == "pandas" and "< spark threshold" in result["engine_reason"]
    assert prov["engine"] == "pandas" and prov["rows"] == 2400 and prov["seed"] == 0
    assert prov["data_window"] == WINDOW and "dowhy" in prov["library_versions"]
    listed = (await api.get("/v1/analyses", headers=h)).json()["items"]
    assert started["id"] in [i["id"] for i in listed]


@pytest.mark.parametrize(
    ("over", "field", "fragment"),
    [
        ({"confounders": ["team", "no_such_metric"]}, "confounders", "unknown column"),
        ({"outcome": "no_such_outcome"}, "outcome", "unknown column"),
        ({"window": {"start": "2030-01-07", "end": "2030-02-04"}}, "window", "too few rows"),
        ({"estimator": "backdoor.propensity_score_weighting"}, "estimator", "binary"),
        ({"treatment": "flat_treatment"}, "treatment", "no variation"),
    ],
)
async def test_spec_that_does_not_fit_the_data_is_422(
    api: httpx.AsyncClient,
    causal_settings: Settings,
    cres: Resources,
    over: dict[str, Any],
    field: str,
    fragment: str,
) -> None:
    h = auth(causal_settings, "analyst")
    if over.get("treatment") == "flat_treatment":
        people = [f"org11-emp-{i:05d}" for i in range(200)]
        records = [
            {"employee": p, "period": f"2026-01-{5 + 7 * w:02d}", "metric": "flat_treatment", "value": 1.0}
            for p in people
            for w in range(3)
        ]
        r = await api.post("/v1/outcomes", json={"source": "test", "records": records}, headers=h)
        assert r.status_code == 200, r.text
    r = await api.post("/v1/analyses", json=spec(**over), headers=h)
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "validation_error" and fragment in err["message"], err
    assert err["details"][0]["field"] == field


async def test_malformed_spec_is_422(api: httpx.AsyncClient, causal_settings: Settings) -> None:
    h = auth(causal_settings, "analyst")
    for bad in (
        spec(treatment="wellbeing"),
        spec(confounders=[], graph=None),
        spec(estimator="backdoor.magic"),
        spec(graph="digraph { a -> b }", confounders=[]),
    ):
        r = await api.post("/v1/analyses", json=bad, headers=h)
        assert r.status_code == 422, (bad, r.text)
    cyclic = "digraph { team -> meeting_hours -> wellbeing; wellbeing -> team }"
    r = await api.post("/v1/analyses", json=spec(confounders=[], graph=cyclic), headers=h)
    assert r.status_code == 422 and "cycle" in r.text, r.text
    assert r.json()["error"]["details"][0]["field"] == "graph"


async def test_causal_graph_gives_the_adjustment_set(api: httpx.AsyncClient, causal_settings: Settings) -> None:
    h = auth(causal_settings, "analyst")
    graph = (
        "digraph { team -> meeting_hours; role -> meeting_hours; tenure_years -> meeting_hours; "
        "team -> wellbeing; role -> wellbeing; tenure_years -> wellbeing; meeting_hours -> wellbeing; }"
    )
    r = await api.post("/v1/analyses", json=spec(confounders=[], graph=graph, refuters=[]), headers=h)
    assert r.status_code == 202, r.text
    done = await wait_done(api, h, r.json()["id"])
    assert done["status"] == "succeeded"
    result = (await api.get(f"/v1/analyses/{r.json()['id']}/result", headers=h)).json()["result"]
    assert result["adjustment_set"] == ["role", "team", "tenure_years"]
    assert abs(result["effect"] - (-0.4)) < 0.06
    assert result["verdict"] != "robust" and "no refuter was run" in result["verdict_reasons"]


async def test_permissions(api: httpx.AsyncClient, causal_settings: Settings) -> None:
    viewer = auth(causal_settings, "viewer")
    assert (await api.post("/v1/analyses", json=spec(), headers=viewer)).status_code == 403
    assert (await api.get("/v1/analyses", headers=viewer)).status_code == 403
    body = {"source": "s", "records": [{"employee": "x", "period": "2026-01-05", "metric": "m", "value": 1}]}
    assert (await api.post("/v1/outcomes", json=body, headers=viewer)).status_code == 403
    assert (await api.post("/v1/analyses", json=spec())).status_code == 401


async def test_outcomes_are_pseudonymised_and_upserted(
    api: httpx.AsyncClient, causal_settings: Settings, cres: Resources
) -> None:
    h = auth(causal_settings, "analyst")
    raw = "Alice.Example@corp.test"
    body = {
        "source": "pulse",
        "records": [{"employee": raw, "period": "2026-02-02", "metric": "pulse", "value": 3}],
    }
    assert (await api.post("/v1/outcomes", json=body, headers=h)).json() == {"accepted": 1}
    body["records"][0]["value"] = 4
    assert (await api.post("/v1/outcomes", json=body, headers=h)).status_code == 200
    async with cres.pg.acquire() as conn:
        rows = await conn.fetch("SELECT employee, value, source FROM outcomes WHERE metric = 'pulse'")
        leaked = await conn.fetchval("SELECT count(*) FROM outcomes WHERE employee ILIKE '%alice%'")
    assert leaked == 0
    assert [(r["employee"], r["value"], r["source"]) for r in rows] == [
        (pseudonymise(raw, causal_settings.privacy.pseudonymisation_key), 4.0, "pulse")
    ]


async def test_csv_import(api: httpx.AsyncClient, causal_settings: Settings, cres: Resources) -> None:
    h = auth(causal_settings, "analyst") | {"content-type": "text/csv"}
    good = "employee,period,metric,value\nbob,2026-02-02,attrition,0\ncarol,2026-02-02,attrition,1\n"
    r = await api.post("/v1/outcomes/import?source=hr-export", content=good, headers=h)
    assert r.status_code == 200 and r.json() == {"accepted": 2}, r.text
    bad = "employee,period,metric,value\ndave,2026-13-01,attrition,1\nerin,2026-02-02,Bad Name,x\n"
    r = await api.post("/v1/outcomes/import?source=hr-export", content=bad, headers=h)
    assert r.status_code == 422
    fields = [d["field"] for d in r.json()["error"]["details"]]
    assert any(f.startswith("line 2") for f in fields) and any(f.startswith("line 3") for f in fields)
    r = await api.post("/v1/outcomes/import?source=x", content="a,b\n1,2\n", headers=h)
    assert r.status_code == 422 and "missing column" in r.json()["error"]["details"][0]["problem"]
    r = await api.post(
        "/v1/outcomes/import?source=x",
        content=good,
        headers=auth(causal_settings, "analyst") | {"content-type": "application/json"},
    )
    assert r.status_code == 415
    async with cres.pg.acquire() as conn:
        n = await conn.fetchval("SELECT count(*) FROM outcomes WHERE metric = 'attrition' AND employee LIKE 'p\\_%'")
        dave = await conn.fetchval("SELECT count(*) FROM outcomes WHERE metric = 'attrition' AND period > '2026-03-01'")
    assert n == 2 and dave == 0  # nothing from the bad file was stored


async def test_cancel(api: httpx.AsyncClient, causal_settings: Settings) -> None:
    h = auth(causal_settings, "analyst")
    r = await api.post("/v1/analyses", json=spec(refuter_simulations=200), headers=h)
    assert r.status_code == 202
    analysis_id = r.json()["id"]
    # Cancel as soon as the run is under way, not at a late stage: on a quiet CI machine the
    # refuters (200 simulations) finished in the 0.2 s between two polls, so the cancel met a
    # finished analysis. From the first running poll the whole analysis (seconds) is still ahead.
    for _ in range(600):
        status = (await api.get(f"/v1/analyses/{analysis_id}", headers=h)).json()
        if status["status"] == "running":
            break
        await asyncio.sleep(0.05)
    assert status["status"] == "running", status
    r = await api.post(f"/v1/analyses/{analysis_id}/cancel", headers=h)
    assert r.status_code == 202, r.text
    done = await wait_done(api, h, analysis_id)
    assert done["status"] == "cancelled"
    assert (await api.get(f"/v1/analyses/{analysis_id}/result", headers=h)).status_code == 409


async def test_workflow_started_with_a_bare_spec_records_the_analysis_once(
    api: httpx.AsyncClient, causal_settings: Settings, cres: Resources
) -> None:
    """How the intervention cycle starts it: a child workflow named AnalysisWorkflow, spec as input."""
    import uuid

    from shared.adapters.postgres.causal_store import CausalStore

    client = await cres.temporal()
    workflow_id = f"cycle-test-{uuid.uuid4().hex[:8]}:analysis:0"
    out = await client.execute_workflow(
        "AnalysisWorkflow", spec(refuters=[]), id=workflow_id, task_queue=causal_settings.temporal.task_queue
    )
    assert out["status"] == "succeeded"
    async with cres.pg.acquire() as conn:
        rows = await conn.fetch("SELECT id::text AS id FROM analyses WHERE workflow_id = $1", workflow_id)
    assert len(rows) == 1
    row = await CausalStore(cres.pg).get(rows[0]["id"])
    assert row is not None and row.status == "succeeded" and row.completions == 1
    assert row.result is not None and abs(row.result["effect"] + 0.4) < 0.06


async def test_rows_dropped_for_a_missing_value_are_counted(
    api: httpx.AsyncClient, causal_settings: Settings, cres: Resources
) -> None:
    """A confounder recorded for 150 of the 200 people: the other 50 x 12 person-weeks are left
    out of the panel, and the result and its provenance say how many (they used to vanish)."""
    h = auth(causal_settings, "analyst")
    records = [
        {"employee": f"org11-emp-{i:05d}", "period": (WEEK0 + timedelta(weeks=w)).isoformat(),
         "metric": "partial_survey", "value": float(i % 7)}
        for i in range(150)
        for w in range(12)
    ]  # fmt: skip
    r = await api.post("/v1/outcomes", json={"source": "test", "records": records}, headers=h)
    assert r.status_code == 200, r.text
    body = spec(confounders=["team", "role", "tenure_years", "partial_survey"])
    analysis = AnalysisSpec(**body | {"window": Window(start=WEEK0, end=date(2026, 3, 23)), "refuters": []})
    result, provenance = await compute(cres, analysis, ProgressState())
    assert result.rows == 150 * 12
    assert result.rows_dropped_missing == provenance["rows_dropped_missing"] == 50 * 12


async def test_period_can_be_adjusted_for(api: httpx.AsyncClient, cres: Resources) -> None:
    """`period` as a confounder: one dummy per week after the first (shocks common to everyone that
    week). The planted effect has no period shocks, so it is recovered as without them."""
    window = Window(start=WEEK0, end=date(2026, 3, 23))
    base = {
        "treatment": "meeting_hours",
        "outcome": "wellbeing",
        "window": window,
        "refuters": [],
        "sensitivity": False,
    }
    with_period, _ = await compute(
        cres, AnalysisSpec(**base, confounders=["team", "role", "tenure_years", "period"]), ProgressState()
    )
    without, _ = await compute(
        cres, AnalysisSpec(**base, confounders=["team", "role", "tenure_years"]), ProgressState()
    )
    weeks = [c for c in with_period.design_columns if c.startswith("period=")]
    assert weeks == [f"period={WEEK0 + timedelta(weeks=w)}" for w in range(1, 12)]
    assert "period" in with_period.adjustment_set and with_period.rows == without.rows
    assert abs(with_period.effect - without.effect) < 0.02 and abs(with_period.effect - (-0.4)) < 0.1
