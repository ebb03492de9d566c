"""Monitoring against the real outcomes table (CO_OUTCOME_SOURCE=postgres) on Temporal's
time-skipping server: the workflow's measure step judges by difference-in-differences against
untargeted people chosen on the pre-period (issue 12 item 8). A planted harm on the targets rolls
back; a seasonal dip that hits targets and comparison people alike does not; a team-only
intervention is judged on its teams' members (the former rule read it as neutral)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import httpx
import numpy as np
from temporalio.testing import WorkflowEnvironment

from shared.adapters.postgres.audit import AuditStore
from shared.domain.impact import assess_proposal
from shared.domain.interventions import InterventionType, Proposal, Target
from shared.platform.resources import Resources
from shared.platform.settings import Settings
from tests.interventions.conftest import STRONG, counts, decision, proposal, start, wait_status

PRE_WEEKS = 4


async def _record(resources: Resources, metric: str, rows: list[tuple[str, date, float]]) -> None:
    async with resources.pg.acquire() as conn:
        await conn.executemany(
            "INSERT INTO outcomes (employee, period, metric, value, source) VALUES ($1, $2, $3, $4, 'test')",
            [(who, period, metric, value) for who, period, value in rows],
        )


class World:
    """Weekly scores for targets and untargeted people at a level band no other test uses, so the
    comparison group (nearest pre-period level) is drawn from these people."""

    def __init__(self, targets: list[str], seed: int, others: int = 24) -> None:
        rng = np.random.default_rng(seed)
        self.rng = rng
        self.targets = targets
        self.others = [f"cmp-{uuid.uuid4().hex[:8]}-{i}" for i in range(others)]
        band = 10_000.0 + rng.uniform(0, 1e6)
        self.level = {who: band + rng.normal(0, 3) for who in [*targets, *self.others]}

    def pre(self, today: date) -> list[tuple[str, date, float]]:
        weeks = [today - timedelta(days=7 * k) for k in range(PRE_WEEKS, 0, -1)]
        return [(who, w, lvl + self.rng.normal(0, 1)) for who, lvl in self.level.items() for w in weeks]

    def post(self, today: date, harm: float, dip: float) -> list[tuple[str, date, float]]:
        day = today + timedelta(days=1)
        return [
            (who, day, lvl + dip + (harm if who in self.targets else 0.0) + self.rng.normal(0, 1))
            for who, lvl in self.level.items()
        ]


async def _run(
    env: WorkflowEnvironment,
    queue: str,
    settings: Settings,
    resources: Resources,
    p: Proposal,
    world: World,
    **shift: float,
) -> dict:
    metric = "cross_team_ties" if p.type is InterventionType.CROSS_TEAM_INTRODUCTION else "wellbeing"
    today = (await env.get_current_time()).date()
    await _record(resources, metric, world.pre(today))
    handle = await start(env.client, queue, settings, p, monitoring_window_s=7 * 86400, rollback_window_s=0)
    if assess_proposal(p).level.value == "high":
        await wait_status(handle, "awaiting_approval")
        await handle.execute_update("decide", decision(settings, p, True, "approver-bob", ["approver"], "pilot"))
    snap = await wait_status(handle, "monitoring")
    assert snap["baseline"]["people"] == len(world.targets) and snap["baseline"]["comparison_people"] >= 12
    await _record(resources, metric, world.post(today, shift.get("harm", 0.0), shift.get("dip", 0.0)))
    return await handle.result()


async def test_planted_harm_on_the_targets_rolls_back(
    time_env: WorkflowEnvironment, pg_worker: str, iv_settings: Settings, resources: Resources, sim: httpx.AsyncClient
) -> None:
    p = proposal(InterventionType.MEETING_LOAD_CAP, 6, max_meeting_hours=15)
    result = await _run(time_env, pg_worker, iv_settings, resources, p, World(list(p.target.people), 1), harm=-5.0)
    assert result["status"] == "rolled_back" and result["restored"] is True
    out = result["outcome"]
    assert out["method"] == "difference_in_differences" and out["verdict"] == "negative"
    assert out["reason"] == "significantly harmful"
    assert out["ci_high"] < 0 and out["ci_low"] < out["effect"] < out["ci_high"]
    assert -7.0 < out["effect"] < -3.0  # the planted -5, the comparison group's noise aside
    assert out["compared_people"] == 6 and out["comparison_people"] == 18
    c = await counts(sim, p)
    assert c["applied"] == 6 and c["reverted"] == 6
    rows = await AuditStore(resources.pg, resources.settings.audit.key).query(intervention_id=p.intervention_id)
    measured = [r.details["outcome"] for r in rows if r.event == "outcome_measured"]
    assert measured == [out]  # result, interval and comparison size audited


async def test_seasonal_dip_for_everyone_does_not_roll_back(
    time_env: WorkflowEnvironment, pg_worker: str, iv_settings: Settings, resources: Resources
) -> None:
    p = proposal(InterventionType.MEETING_LOAD_CAP, 6, max_meeting_hours=15)
    result = await _run(time_env, pg_worker, iv_settings, resources, p, World(list(p.target.people), 2), dip=-8.0)
    assert result["status"] == "completed", result["outcome"]
    out = result["outcome"]
    assert out["verdict"] != "negative" and out["ci_low"] < 0 < out["ci_high"]
    assert out["after"]["mean"] < out["baseline"]["mean"] - 6  # the targets did fall, like everyone


async def test_team_only_intervention_is_judged_on_its_members(
    time_env: WorkflowEnvironment, pg_worker: str, iv_settings: Settings, resources: Resources
) -> None:
    tag = uuid.uuid4().hex[:8]
    teams = (f"team-a-{tag}", f"team-b-{tag}")
    members = [f"m-{tag}-{i}" for i in range(8)]
    async with resources.pg.acquire() as conn:
        await conn.executemany(
            "INSERT INTO employee_attributes (employee, team) VALUES ($1, $2)",
            [(m, teams[i % 2]) for i, m in enumerate(members)],
        )
    p = Proposal(
        intervention_id=uuid.uuid4().hex[:12],
        type=InterventionType.CROSS_TEAM_INTRODUCTION,
        target=Target(people=(), teams=teams),
        parameters={"intro_size": 6},
        evidence=STRONG,
        proposed_by="analyst-ann",
    )
    result = await _run(time_env, pg_worker, iv_settings, resources, p, World(members, 3), harm=-5.0)
    out = result["outcome"]
    assert out["compared_people"] == 8 and out["verdict"] == "negative", out
    assert result["status"] == "rolled_back"
