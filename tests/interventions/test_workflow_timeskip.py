"""InterventionWorkflow on Temporal's time-skipping test server, with the real simulator and the
real PostgreSQL audit log: approval expiry, approve, reject, roles, outcome rollback, and the
property that high impact never executes without approval."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
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
from shared.domain.interventions import CATALOGUE, Evidence, InterventionType, Proposal, Verdict, plan_actions
from shared.platform.resources import Resources
from shared.platform.settings import Settings
from shared.services.interventions import signed, workflow_id
from tests.interventions.conftest import counts, decision, events, proposal, start, wait_status
from workflows.intervention.contract import Decision


@dataclass
class Timeskip:
    """What every test here drives: the time-skipping server and its worker's queue, the settings
    the workflow input is built from, the simulator and the audit log on the session's database."""

    env: WorkflowEnvironment
    queue: str
    settings: Settings
    sim: httpx.AsyncClient
    resources: Resources

    def decision(self, p: Proposal, approve: bool, actor: str, roles: list[str], reason: str) -> Decision:
        return decision(self.settings, p, approve, actor, roles, reason)

    async def start(self, p: Proposal, **overrides: Any) -> WorkflowHandle[Any, Any]:
        return await start(self.env.client, self.queue, self.settings, p, **overrides)

    async def counts(self, p: Proposal) -> dict[str, Any]:
        return await counts(self.sim, p)

    def audit(self) -> AuditStore:
        return AuditStore(self.resources.pg, self.resources.settings.audit.key)

    async def events(self, p: Proposal) -> list[tuple[str, str]]:
        return await events(self.resources, p)


@pytest.fixture()
def ts(
    time_env: WorkflowEnvironment, ts_worker: str, iv_settings: Settings, sim: httpx.AsyncClient, resources: Resources
) -> Timeskip:
    return Timeskip(time_env, ts_worker, iv_settings, sim, resources)


async def test_low_impact_runs_without_approval(ts: Timeskip) -> None:
    p = proposal(InterventionType.FOCUS_TIME_BLOCK, 2, hours_per_week=4)
    assert assess_proposal(p).level.value == "low"
    handle = await ts.start(p, monitoring_window_s=3600, rollback_window_s=0)
    result = await handle.result()
    assert result["status"] == "completed"
    assert result["decision"] is None
    c = await ts.counts(p)
    assert c["applied"] == 2 and c["reverted"] == 0
    expected = ["proposed", "pre_state_captured", "executed", "monitoring_started"]
    expected += ["outcome_measured", "succeeded", "completed"]
    assert [e for e, _ in await ts.events(p)] == expected


async def test_approval_expires_after_exactly_24h_of_workflow_time(ts: Timeskip) -> None:
    p = proposal(InterventionType.MANAGER_NUDGE, 1)
    handle = await ts.start(p, approval_timeout_s=24 * 3600)
    await wait_status(handle, "awaiting_approval")
    # one second before the deadline it is still pending ...
    await ts.env.sleep(timedelta(hours=23, minutes=59, seconds=59))
    assert (await handle.query("snapshot"))["status"] == "awaiting_approval"
    result = await handle.result()
    # ... and it expired at the deadline: 24 h after the request, to the timer's precision
    assert result["status"] == "expired"
    assert result["timeline"][-1]["event"] == "expired"
    requested = datetime.fromisoformat(result["approval_requested_at"])
    assert datetime.fromisoformat(result["approval_deadline"]) - requested == timedelta(hours=24)
    waited = datetime.fromisoformat(result["finished_at"]) - requested
    assert timedelta(hours=24) <= waited < timedelta(hours=24, seconds=1)
    assert (await ts.counts(p))["applied"] == 0
    assert ("expired", "system") in await ts.events(p)
    projection = await ts.audit().get(p.intervention_id)
    assert projection is not None and projection["status"] == "expired"


async def test_approve_path_records_who_and_why(ts: Timeskip) -> None:
    p = proposal(InterventionType.MANAGER_NUDGE, 2)
    handle = await ts.start(p, monitoring_window_s=3600, rollback_window_s=0)
    await wait_status(handle, "awaiting_approval")
    snap = await handle.execute_update(
        "decide", ts.decision(p, True, "approver-bob", ["approver"], "evidence is robust")
    )
    assert snap["decision"]["actor"] == "approver-bob"
    result = await handle.result()
    assert result["status"] == "completed"
    assert (await ts.counts(p))["applied"] == 2
    rows = await ts.audit().query(intervention_id=p.intervention_id, actor="approver-bob")
    assert [(r.event, r.details["reason"]) for r in rows] == [("approved", "evidence is robust")]


async def test_reject_path_never_acts(ts: Timeskip) -> None:
    p = proposal(InterventionType.MANAGER_NUDGE, 2)
    handle = await ts.start(p)
    await wait_status(handle, "awaiting_approval")
    await handle.execute_update("decide", ts.decision(p, False, "approver-bob", ["approver"], "too intrusive"))
    result = await handle.result()
    assert result["status"] == "rejected"
    assert result["decision"] == {**result["decision"], "approve": False, "reason": "too intrusive"}
    assert (await ts.counts(p))["applied"] == 0
    assert ("rejected", "approver-bob") in await ts.events(p)


async def test_only_the_approver_role_can_decide(ts: Timeskip) -> None:
    p = proposal(InterventionType.MANAGER_NUDGE, 1)
    handle = await ts.start(p, monitoring_window_s=60, rollback_window_s=0)
    await wait_status(handle, "awaiting_approval")
    for roles in (["analyst"], ["viewer"], ["service"], []):
        with pytest.raises(WorkflowUpdateFailedError) as info:
            await handle.execute_update("decide", ts.decision(p, True, "eve", roles, "looks fine"))
        assert "approver" in str(info.value.cause)
    with pytest.raises(WorkflowUpdateFailedError):  # the proposer cannot approve their own
        await handle.execute_update("decide", ts.decision(p, True, "analyst-ann", ["approver"], "mine"))
    with pytest.raises(WorkflowUpdateFailedError):  # a reason is required
        await handle.execute_update("decide", ts.decision(p, True, "bob", ["approver"], "  "))
    assert (await handle.query("snapshot"))["status"] == "awaiting_approval"
    assert (await ts.counts(p))["applied"] == 0
    await handle.execute_update("decide", ts.decision(p, True, "admin-ada", ["admin"], "ok"))
    assert (await handle.result())["status"] == "completed"


async def test_planted_negative_outcome_rolls_back_to_the_captured_pre_state(ts: Timeskip) -> None:
    p = proposal(InterventionType.MEETING_LOAD_CAP, 3, max_meeting_hours=12)
    actions = [a.to_dict() for a in plan_actions(p)]
    before = (await ts.sim.post("/admin/capture", json={"actions": actions})).json()["pre_states"]
    handle = await ts.start(p, monitoring_window_s=7 * 24 * 3600)
    await wait_status(handle, "monitoring")
    during = (await ts.sim.post("/admin/capture", json={"actions": actions})).json()["pre_states"]
    assert during != before  # the cap really changed the calendars
    targets = {"metric": "wellbeing", "people": list(p.target.people), "teams": list(p.target.teams), "value": 4.0}
    await ts.sim.post("/admin/signals", json=targets)  # the comparison group keeps its 7.0
    result = await handle.result()
    assert result["status"] == "rolled_back"
    assert result["outcome"]["verdict"] == "negative"
    assert result["restored"] is True
    after = (await ts.sim.post("/admin/capture", json={"actions": actions})).json()["pre_states"]
    assert after == before
    c = await ts.counts(p)
    assert c["applied"] == 3 and c["reverted"] == 3
    assert c["reverted_keys"] == sorted(f"{workflow_id(p.intervention_id)}:revert:{i}" for i in range(3))
    assert ("rolled_back", "system") in await ts.events(p)


async def test_manual_rollback_any_time_after_execution(ts: Timeskip) -> None:
    p = proposal(InterventionType.FOCUS_TIME_BLOCK, 1, hours_per_week=2)
    handle = await ts.start(p, monitoring_window_s=600, rollback_window_s=30 * 86400)
    await wait_status(handle, "monitoring")
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(
            "rollback", signed("rollback", p.intervention_id, ts.settings, actor="eve", roles=["analyst"], reason="no")
        )
    await ts.env.sleep(timedelta(minutes=11))
    await wait_status(handle, "succeeded")
    snap = await handle.execute_update(
        "rollback",
        signed(
            "rollback", p.intervention_id, ts.settings, actor="approver-bob", roles=["approver"], reason="team asked"
        ),
    )
    assert snap["status"] == "rolled_back" and snap["restored"] is True
    assert (await handle.result())["status"] == "rolled_back"
    c = await ts.counts(p)
    assert c["applied"] == 1 and c["reverted"] == 1
    assert ("rolled_back", "approver-bob") in await ts.events(p)


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
    spec = CATALOGUE[type_].parameters[0]
    value = draw(st.floats(min_value=spec.minimum, max_value=spec.maximum).map(lambda v: round(v)))
    return proposal(type_, draw(people_counts), draw(evidence_st), **{spec.name: value})


async def test_high_impact_never_executes_without_approval(ts: Timeskip) -> None:
    """Property over generated proposals, each run through the real workflow with nobody approving."""
    loop = asyncio.get_running_loop()
    seen: dict[str, int] = {"low": 0, "medium": 0, "high": 0}

    async def one(p: Proposal) -> None:
        level = assess_proposal(p).level.value
        seen[level] += 1
        handle = await ts.start(p, monitoring_window_s=3600, rollback_window_s=0)
        result = await handle.result()
        c = await ts.counts(p)
        kinds = [e for e, _ in await ts.events(p)]
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
