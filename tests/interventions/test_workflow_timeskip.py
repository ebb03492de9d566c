"""InterventionWorkflow on Temporal's time-skipping test server, with the real simulator and the
real PostgreSQL audit log: approval expiry, approve, reject, roles, outcome rollback, and the
property that high impact never executes without approval."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from shared.adapters.postgres.audit import AuditStore
from shared.domain.impact import assess_proposal
from shared.domain.interventions import Evidence, InterventionType, Proposal, Target, Verdict, plan_actions
from shared.platform.resources import Resources
from shared.platform.settings import Settings
from shared.services.interventions import build_input, signed, workflow_id
from tests.interventions.conftest import fast
from workflows.intervention.contract import Decision

STRONG = Evidence("analysis-1", "meeting_load", "wellbeing", -0.4, -0.5, -0.3, Verdict.ROBUST)


def proposal(type_: InterventionType, people: int = 2, evidence: Evidence = STRONG, **params: float) -> Proposal:
    iid = uuid.uuid4().hex[:12]
    return Proposal(
        intervention_id=iid,
        type=type_,
        target=Target(people=tuple(f"ts-{iid}-p{i}" for i in range(people)), teams=(f"ta-{iid}", f"tb-{iid}")),
        parameters=params,
        evidence=evidence,
        proposed_by="analyst-ann",
    )


def decision(settings: Settings, p: Proposal, approve: bool, actor: str, roles: list[str], reason: str) -> Decision:
    """What the API sends: signed with its key (the workflow input carries the public key)."""
    made: Decision = signed(
        "decide", p.intervention_id, settings, approve=approve, actor=actor, roles=roles, reason=reason
    )
    return made


async def start(
    env: WorkflowEnvironment, queue: str, settings: Settings, p: Proposal, **overrides: Any
) -> WorkflowHandle[Any, Any]:
    inp = build_input(p, settings, **fast(**overrides))
    return await env.client.start_workflow(
        "InterventionWorkflow", inp, id=workflow_id(p.intervention_id), task_queue=queue
    )


async def wait_status(handle: WorkflowHandle[Any, Any], *wanted: str, timeout_s: float = 30) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        snap = await handle.query("snapshot")
        if snap["status"] in wanted:
            return snap
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"status stayed {snap['status']}, wanted {wanted}")
        await asyncio.sleep(0.05)


async def counts(sim: httpx.AsyncClient, p: Proposal) -> dict[str, Any]:
    return (await sim.get("/admin/counts", params={"prefix": workflow_id(p.intervention_id) + ":"})).json()


async def events(resources: Resources, p: Proposal) -> list[tuple[str, str]]:
    rows = await AuditStore(resources.pg, resources.settings.audit.key).query(intervention_id=p.intervention_id)
    return [(r.event, r.actor) for r in rows]


async def test_low_impact_runs_without_approval(
    time_env: WorkflowEnvironment,
    ts_worker: str,
    iv_settings: Settings,
    sim: httpx.AsyncClient,
    resources: Resources,
) -> None:
    p = proposal(InterventionType.FOCUS_TIME_BLOCK, 2, hours_per_week=4)
    assert assess_proposal(p).level.value == "low"
    handle = await start(time_env, ts_worker, iv_settings, p, monitoring_window_s=3600, rollback_window_s=0)
    result = await handle.result()
    assert result["status"] == "completed"
    assert result["decision"] is None
    c = await counts(sim, p)
    assert c["applied"] == 2 and c["reverted"] == 0
    expected = ["proposed", "pre_state_captured", "executed", "monitoring_started"]
    expected += ["outcome_measured", "succeeded", "completed"]
    assert [e for e, _ in await events(resources, p)] == expected


async def test_approval_expires_after_exactly_24h_of_workflow_time(
    time_env: WorkflowEnvironment,
    ts_worker: str,
    iv_settings: Settings,
    sim: httpx.AsyncClient,
    resources: Resources,
) -> None:
    p = proposal(InterventionType.MANAGER_NUDGE, 1)
    handle = await start(time_env, ts_worker, iv_settings, p, approval_timeout_s=24 * 3600)
    await wait_status(handle, "awaiting_approval")
    # one second before the deadline it is still pending ...
    await time_env.sleep(timedelta(hours=23, minutes=59, seconds=59))
    assert (await handle.query("snapshot"))["status"] == "awaiting_approval"
    result = await handle.result()
    # ... and it expired at the deadline: 24 h after the request, to the timer's precision
    assert result["status"] == "expired"
    assert result["timeline"][-1]["event"] == "expired"
    requested = datetime.fromisoformat(result["approval_requested_at"])
    assert datetime.fromisoformat(result["approval_deadline"]) - requested == timedelta(hours=24)
    waited = datetime.fromisoformat(result["finished_at"]) - requested
    assert timedelta(hours=24) <= waited < timedelta(hours=24, seconds=1)
    assert (await counts(sim, p))["applied"] == 0
    assert ("expired", "system") in await events(resources, p)
    projection = await AuditStore(resources.pg, resources.settings.audit.key).get(p.intervention_id)
    assert projection is not None and projection["status"] == "expired"


async def test_approve_path_records_who_and_why(
    time_env: WorkflowEnvironment,
    ts_worker: str,
    iv_settings: Settings,
    sim: httpx.AsyncClient,
    resources: Resources,
) -> None:
    p = proposal(InterventionType.MANAGER_NUDGE, 2)
    handle = await start(time_env, ts_worker, iv_settings, p, monitoring_window_s=3600, rollback_window_s=0)
    await wait_status(handle, "awaiting_approval")
    snap = await handle.execute_update(
        "decide", decision(iv_settings, p, True, "approver-bob", ["approver"], "evidence is robust")
    )
    assert snap["decision"]["actor"] == "approver-bob"
    result = await handle.result()
    assert result["status"] == "completed"
    assert (await counts(sim, p))["applied"] == 2
    rows = await AuditStore(resources.pg, resources.settings.audit.key).query(
        intervention_id=p.intervention_id, actor="approver-bob"
    )
    assert [(r.event, r.details["reason"]) for r in rows] == [("approved", "evidence is robust")]


async def test_reject_path_never_acts(
    time_env: WorkflowEnvironment,
    ts_worker: str,
    iv_settings: Settings,
    sim: httpx.AsyncClient,
    resources: Resources,
) -> None:
    p = proposal(InterventionType.MANAGER_NUDGE, 2)
    handle = await start(time_env, ts_worker, iv_settings, p)
    await wait_status(handle, "awaiting_approval")
    await handle.execute_update(
        "decide", decision(iv_settings, p, False, "approver-bob", ["approver"], "too intrusive")
    )
    result = await handle.result()
    assert result["status"] == "rejected"
    assert result["decision"] == {**result["decision"], "approve": False, "reason": "too intrusive"}
    assert (await counts(sim, p))["applied"] == 0
    assert ("rejected", "approver-bob") in await events(resources, p)


async def test_only_the_approver_role_can_decide(
    time_env: WorkflowEnvironment, ts_worker: str, iv_settings: Settings, sim: httpx.AsyncClient
) -> None:
    p = proposal(InterventionType.MANAGER_NUDGE, 1)
    handle = await start(time_env, ts_worker, iv_settings, p, monitoring_window_s=60, rollback_window_s=0)
    await wait_status(handle, "awaiting_approval")
    for roles in (["analyst"], ["viewer"], ["service"], []):
        with pytest.raises(WorkflowUpdateFailedError) as info:
            await handle.execute_update("decide", decision(iv_settings, p, True, "eve", roles, "looks fine"))
        assert "approver" in str(info.value.cause)
    with pytest.raises(WorkflowUpdateFailedError):  # the proposer cannot approve their own
        await handle.execute_update("decide", decision(iv_settings, p, True, "analyst-ann", ["approver"], "mine"))
    with pytest.raises(WorkflowUpdateFailedError):  # a reason is required
        await handle.execute_update("decide", decision(iv_settings, p, True, "bob", ["approver"], "  "))
    assert (await handle.query("snapshot"))["status"] == "awaiting_approval"
    assert (await counts(sim, p))["applied"] == 0
    await handle.execute_update("decide", decision(iv_settings, p, True, "admin-ada", ["admin"], "ok"))
    assert (await handle.result())["status"] == "completed"


async def test_planted_negative_outcome_rolls_back_to_the_captured_pre_state(
    time_env: WorkflowEnvironment,
    ts_worker: str,
    iv_settings: Settings,
    sim: httpx.AsyncClient,
    resources: Resources,
) -> None:
    p = proposal(InterventionType.MEETING_LOAD_CAP, 3, max_meeting_hours=12)
    actions = [a.to_dict() for a in plan_actions(p)]
    before = (await sim.post("/admin/capture", json={"actions": actions})).json()["pre_states"]
    handle = await start(time_env, ts_worker, iv_settings, p, monitoring_window_s=7 * 24 * 3600)
    await wait_status(handle, "monitoring")
    during = (await sim.post("/admin/capture", json={"actions": actions})).json()["pre_states"]
    assert during != before  # the cap really changed the calendars
    targets = {"metric": "wellbeing", "people": list(p.target.people), "teams": list(p.target.teams), "value": 4.0}
    await sim.post("/admin/signals", json=targets)  # the comparison group keeps its 7.0
    result = await handle.result()
    assert result["status"] == "rolled_back"
    assert result["outcome"]["verdict"] == "negative"
    assert result["restored"] is True
    after = (await sim.post("/admin/capture", json={"actions": actions})).json()["pre_states"]
    assert after == before
    c = await counts(sim, p)
    assert c["applied"] == 3 and c["reverted"] == 3
    assert c["reverted_keys"] == sorted(f"{workflow_id(p.intervention_id)}:revert:{i}" for i in range(3))
    assert ("rolled_back", "system") in await events(resources, p)


async def test_manual_rollback_any_time_after_execution(
    time_env: WorkflowEnvironment,
    ts_worker: str,
    iv_settings: Settings,
    sim: httpx.AsyncClient,
    resources: Resources,
) -> None:
    p = proposal(InterventionType.FOCUS_TIME_BLOCK, 1, hours_per_week=2)
    handle = await start(time_env, ts_worker, iv_settings, p, monitoring_window_s=600, rollback_window_s=30 * 86400)
    await wait_status(handle, "monitoring")
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(
            "rollback", signed("rollback", p.intervention_id, iv_settings, actor="eve", roles=["analyst"], reason="no")
        )
    await time_env.sleep(timedelta(minutes=11))
    await wait_status(handle, "succeeded")
    snap = await handle.execute_update(
        "rollback",
        signed(
            "rollback", p.intervention_id, iv_settings, actor="approver-bob", roles=["approver"], reason="team asked"
        ),
    )
    assert snap["status"] == "rolled_back" and snap["restored"] is True
    assert (await handle.result())["status"] == "rolled_back"
    c = await counts(sim, p)
    assert c["applied"] == 1 and c["reverted"] == 1
    assert ("rolled_back", "approver-bob") in await events(resources, p)


people_counts = st.integers(min_value=1, max_value=8)
evidence_st = st.builds(
    Evidence,
    analysis_id=st.just("a-prop"),
    treatment=st.sampled_from(["meeting_load", "review_load"]),
    outcome=st.just("wellbeing"),
    effect=st.sampled_from([-0.4, 0.4, 0.05]),
    ci_low=st.sampled_from([-0.5, -0.1, 0.3]),
    ci_high=st.sampled_from([-0.3, 0.1, 0.5]),
    verdict=st.sampled_from(list(Verdict)),
).filter(lambda e: e.ci_low <= e.ci_high)


@st.composite
def proposals(draw: st.DrawFn) -> Proposal:
    type_ = draw(st.sampled_from(list(InterventionType)))
    from shared.domain.interventions import CATALOGUE

    spec = CATALOGUE[type_].parameters[0]
    value = draw(st.floats(min_value=spec.minimum, max_value=spec.maximum).map(lambda v: round(v)))
    return proposal(type_, draw(people_counts), draw(evidence_st), **{spec.name: value})


async def test_high_impact_never_executes_without_approval(
    time_env: WorkflowEnvironment,
    ts_worker: str,
    iv_settings: Settings,
    sim: httpx.AsyncClient,
    resources: Resources,
) -> None:
    """Property over generated proposals, each run through the real workflow with nobody approving."""
    loop = asyncio.get_running_loop()
    seen: dict[str, int] = {"low": 0, "medium": 0, "high": 0}

    async def one(p: Proposal) -> None:
        level = assess_proposal(p).level.value
        seen[level] += 1
        handle = await start(time_env, ts_worker, iv_settings, p, monitoring_window_s=3600, rollback_window_s=0)
        result = await handle.result()
        c = await counts(sim, p)
        kinds = [e for e, _ in await events(resources, p)]
        if level == "high":
            assert result["status"] == "expired"
            assert c["applied"] == 0 and c["calls"].get("apply", 0) >= 0
            assert "executed" not in kinds and "pre_state_captured" not in kinds
        else:
            assert result["status"] == "completed", result
            assert c["applied"] == len(plan_actions(p))
            assert "approval_requested" not in kinds

    @hsettings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
    @given(proposals())
    def prop(p: Proposal) -> None:
        asyncio.run_coroutine_threadsafe(one(p), loop).result(120)

    await asyncio.to_thread(prop)
    assert seen["high"] > 0 and seen["low"] + seen["medium"] > 0
