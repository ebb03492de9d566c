"""Issue 11 item 3: approvers must not read individual outcome values.

Before: the baseline and the measured outcome were per-person maps in the workflow's snapshot
(the API's ``live`` view), its result and the audit log, so an approver (no individual-read
permission) could read anyone's wellbeing score. Now the capture activity seals the per-person
baseline (AES-GCM, a key only workers hold), the measure activity judges inside itself, and
only group figures leave it: people count and mean, the mean (and the relative change) withheld
under the minimum group size k = 5.
"""

# ruff: noqa: F811 - the interventions fixtures are imported below and used as parameters
from __future__ import annotations

import json
import re
from datetime import date, timedelta

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from shared.adapters.postgres.audit import AuditStore
from shared.domain.intervention_outcomes import outcome_record
from shared.domain.interventions import CATALOGUE, InterventionType
from shared.domain.outcome_monitoring import DidResult
from shared.platform.resources import Resources
from shared.platform.sealing import seal, unseal
from shared.platform.settings import Settings
from tests.interventions.conftest import (  # noqa: F401 - fixtures
    iv_settings,
    pg_worker,
    proposal,
    sim,
    simulator_url,
    start,
    time_env,
    wait_status,
)

SCORES = (71.25, 64.5, 80.75, 58.0, 77.5, 69.25, 62.75)  # distinctive values to search for


async def _record(resources: Resources, values: dict[str, float], period: date) -> None:
    async with resources.pg.acquire() as conn:
        await conn.executemany(
            "INSERT INTO outcomes (employee, period, metric, value, source) VALUES ($1, $2, 'wellbeing', $3, 'test')",
            [(p, period, v) for p, v in values.items()],
        )


def _leaks(blob: object, values: dict[str, float]) -> list[str]:
    """Every per-person value visible as a number in a JSON-able blob (a whole number, so a
    timestamp such as ``15:59:48.512`` does not count as the value 48.5)."""
    text = json.dumps(blob, default=str)
    return [f"{who}={v}" for who, v in values.items() if re.search(rf"(?<![\d.]){re.escape(str(v))}(?![\d])", text)]


@pytest.mark.parametrize("people", [3, 7], ids=["below-k", "above-k"])
async def test_snapshot_result_and_audit_hold_group_figures_only(
    time_env: WorkflowEnvironment,
    pg_worker: str,
    iv_settings: Settings,
    resources: Resources,
    sim: httpx.AsyncClient,
    people: int,
) -> None:
    p = proposal(InterventionType.MEETING_LOAD_CAP, people, max_meeting_hours=15)
    before = dict(zip(p.target.people, SCORES, strict=False))
    # untargeted people at the same levels (the comparison group), steady after
    steady = {f"cmp-{p.intervention_id}-{i}-{j}": v + 0.125 for i in range(3) for j, v in enumerate(SCORES)}
    today = (await time_env.get_current_time()).date()
    await _record(resources, {**before, **steady}, today - timedelta(days=7))
    handle = await start(time_env.client, pg_worker, iv_settings, p, monitoring_window_s=7 * 86400, rollback_window_s=0)
    snap = await wait_status(handle, "monitoring")  # what GET /v1/interventions/{id} shows as "live"
    after = {who: v - 9.5 for who, v in before.items()}
    await _record(resources, {**after, **steady}, today + timedelta(days=1))
    result = await handle.result()
    rows = await AuditStore(resources.pg, resources.settings.audit.key).query(intervention_id=p.intervention_id)
    audit = [r.to_json() for r in rows]
    for blob in (snap, result, audit):
        assert not _leaks(blob, before) and not _leaks(blob, after), _leaks(blob, before) + _leaks(blob, after)
    assert result["status"] == "rolled_back"  # a 13% drop for the targets only: harmful, rolled back
    outcome = result["outcome"]
    assert outcome["compared_people"] == people
    if people < 5:
        assert snap["baseline"] == {"people": people, "mean": None, "withheld": True, "comparison_people": 3 * people}
        assert outcome["effect"] is None and outcome["ci_low"] is None and outcome["after"]["mean"] is None
    else:
        assert snap["baseline"]["mean"] == pytest.approx(sum(before.values()) / people)
        assert outcome["after"]["mean"] == pytest.approx(sum(after.values()) / people)
    # nor does the workflow's history carry them: only the sealed token crossed the workflow
    history = json.dumps(
        [e.to_json() if hasattr(e, "to_json") else str(e) async for e in handle.fetch_history_events()]
    )
    assert not _leaks(history, before)


def test_sealed_values_need_the_key_and_cannot_be_altered() -> None:
    key, other = b"k" * 32, b"o" * 32
    token = seal({"p_1": 71.25}, key)
    assert "71.25" not in token and unseal(token, key) == {"p_1": 71.25}
    with pytest.raises(ValueError):
        unseal(token, other)
    tampered = token[:-4] + ("AAAA" if token[-4:] != "AAAA" else "BBBB")
    with pytest.raises(ValueError):
        unseal(tampered, key)


def test_outcome_record_withholds_small_groups() -> None:
    entry = CATALOGUE[InterventionType.MEETING_LOAD_CAP]
    harmed = DidResult(-10.0, -12.0, -8.0, treated=2, comparison=6, pre_trend_p=0.5, rollback=True, reason="x")
    small = outcome_record(entry, harmed, {"a": 70.0, "b": 72.0}, {"a": 60.0, "b": 62.0}, min_group_size=5)
    assert small["verdict"] == "negative" and small["effect"] is None and small["ci_low"] is None
    assert small["baseline"] == {"people": 2, "mean": None, "withheld": True}
    assert small["comparison_people"] == 6
    five = {f"p{i}": 70.0 + i for i in range(5)}
    better = DidResult(7.0, 5.0, 9.0, treated=5, comparison=15, pre_trend_p=0.5, rollback=False, reason="y")
    big = outcome_record(entry, better, five, {k: v + 7 for k, v in five.items()}, min_group_size=5)
    assert big["verdict"] == "positive" and big["baseline"]["mean"] == 72.0
    assert (big["effect"], big["ci_low"], big["ci_high"], big["comparison_people"]) == (7.0, 5.0, 9.0, 15)
