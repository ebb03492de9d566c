"""The causal engine on an organisation whose network changes (issue 13): an analysis over
period panels recovers a planted effect that an analysis over the cumulative reading misses.

The organisation is the planted-reorganisation network (``generate_changing_org``: two teams
start working as one at week 10) loaded into a scratch ledger as raw interactions. Known
truth: each person-week's wellbeing is ``BASE + EFFECT x`` that week's cross-team ratio (on the
week's own graph) ``+`` a team level ``+`` noise. Two panels of the same person-weeks go
through the production panel builder and the pandas engine:

- cumulative: before any period is written, the panel averages the metric refreshes of each
  week, here one refresh per week reading every interaction since the start (what the hourly
  refresh stored before issue 13);
- periods: after the weekly back-fill, the panel reads each week's own graph.
"""

from __future__ import annotations

import os
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from pydantic import SecretStr

from shared.adapters.postgres.databases import scratch_database
from shared.adapters.postgres.metrics_store import MetricsStore
from shared.adapters.postgres.window_ledger import copy_interactions, copy_teams, ledger_rows
from shared.domain.analysis import AnalysisSpec, Window
from shared.domain.causal_verdict import AnalysisResult
from shared.domain.metrics import MetricDefinitions
from shared.domain.periods import Period
from shared.domain.synthetic_network import ChangingOrg, generate_changing_org
from shared.domain.tie_weights import TieRules
from shared.platform.resources import Needs, Resources, open_resources
from shared.platform.settings import Settings
from shared.services.causal_analysis import ProgressState, compute
from shared.services.period_metrics import backfill_in_process, compute_period

EFFECT = -2.0  # wellbeing points per unit of the week's cross-team ratio
BASE = 5.0
NOISE = 0.1
# one organisation in the suite; more with `task causal:period-panels` (CO_PERIOD_PANEL_SEEDS=3,17,29)
SEEDS = tuple(int(s) for s in os.environ.get("CO_PERIOD_PANEL_SEEDS", "3").split(","))


@dataclass
class Estimates:
    truth: float
    cumulative: AnalysisResult
    periods: AnalysisResult


def spec_for(org: ChangingOrg) -> AnalysisSpec:
    last = (org.start + timedelta(weeks=org.weeks - 1)).date()
    return AnalysisSpec(
        treatment="cross_team_ratio",
        outcome="wellbeing",
        confounders=["team"],
        estimand="ate",
        refuters=[],
        sensitivity=False,
        window=Window(start=org.start.date(), end=last),
        seed=1,
    )


async def estimate_both(settings: Settings, stack_env: dict[str, str], name: str, seed: int) -> Estimates:
    org = generate_changing_org(seed)
    defs, rules = MetricDefinitions(), TieRules()
    weeks = [
        Period(org.start + timedelta(weeks=w), org.start + timedelta(weeks=w + 1), "week") for w in range(org.weeks)
    ]
    async with scratch_database(stack_env["CO_PG_DSN"], name) as dsn:
        local = settings.replace(pg_dsn=SecretStr(dsn))
        async with open_resources(local, Needs(pg=True)) as res:
            await copy_interactions(res.pg, ledger_rows(org.events))
            await copy_teams(res.pg, org.teams)
            await plant_outcomes(res, org, weeks, defs, rules, seed)
            await write_cumulative_refreshes(res, org, weeks, defs, rules)
            cumulative = await analyse(res, spec_for(org))
            await backfill_in_process(res.pg, "week", weeks[-1].end, defs, rules, local.privacy.min_group_size)
            periods = await analyse(res, spec_for(org))
    return Estimates(EFFECT, cumulative, periods)


async def plant_outcomes(
    res: Resources, org: ChangingOrg, weeks: list[Period], defs: MetricDefinitions, rules: TieRules, seed: int
) -> None:
    """Wellbeing driven by the week's own cross-team ratio (the known truth)."""
    rng = random.Random(seed)
    level = {team: rng.uniform(-0.5, 0.5) for team in sorted(set(org.teams.values()))}
    records: list[tuple[str, date, str, float, str]] = []
    for week in weeks:
        outcome = await compute_period(res.pg, week, defs, rules)
        for row in outcome.compute.rows:
            if row.cross_team_ratio is None or row.team is None:
                continue
            value = BASE + EFFECT * row.cross_team_ratio + level[row.team] + rng.gauss(0.0, NOISE)
            records.append((row.employee, week.label, "wellbeing", value, "test"))
    async with res.pg.acquire() as conn:
        await conn.copy_records_to_table(
            "outcomes", records=records, columns=["employee", "period", "metric", "value", "source"]
        )


async def write_cumulative_refreshes(
    res: Resources, org: ChangingOrg, weeks: list[Period], defs: MetricDefinitions, rules: TieRules
) -> None:
    """One refresh per week, mid-week, reading everything since the start (the old live value)."""
    store = MetricsStore(res.pg)
    for week in weeks:
        since_start = await compute_period(res.pg, Period(org.start, week.end, "window"), defs, rules)
        at = week.start + timedelta(days=3, hours=12)
        await store.write_history(at, [r.history_record(at) for r in since_start.compute.rows])


async def analyse(res: Resources, spec: AnalysisSpec) -> AnalysisResult:
    result, provenance = await compute(res, spec, ProgressState())
    assert provenance["engine"] == "pandas"
    return result


@pytest.fixture(scope="module")
async def estimates(settings: Settings, stack_env: dict[str, str], run_id: str) -> AsyncIterator[list[Estimates]]:
    found = []
    for seed in SEEDS:
        e = await estimate_both(settings, stack_env, f"co_test_{run_id}_pp{seed}", seed)
        c, p = e.cumulative, e.periods
        print(
            f"seed {seed}: truth {e.truth}; periods {p.effect:.3f} [{p.ci_low:.3f}, {p.ci_high:.3f}] on {p.rows} rows; "
            f"cumulative {c.effect:.3f} [{c.ci_low:.3f}, {c.ci_high:.3f}] on {c.rows} rows"
        )
        found.append(e)
    yield found


def test_period_panels_recover_the_planted_effect(estimates: list[Estimates]) -> None:
    for e in estimates:
        p = e.periods
        assert p.ci_low < e.truth < p.ci_high, (p.effect, p.ci_low, p.ci_high)
        assert abs(p.effect - e.truth) < 0.1 * abs(e.truth), p.effect


def test_cumulative_panels_miss_it(estimates: list[Estimates]) -> None:
    for e in estimates:
        c, p = e.cumulative, e.periods
        assert not c.ci_low < e.truth < c.ci_high, (c.effect, c.ci_low, c.ci_high)
        assert abs(c.effect - e.truth) > 5 * abs(p.effect - e.truth), (c.effect, p.effect)
