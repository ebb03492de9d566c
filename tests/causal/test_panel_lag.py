"""The panel's lag option (issue 12): treatment in period t, outcome in t + lag.

Known truth: a generated organisation whose outcome is moved one week later in the outcomes
table, so this week's meeting load acts on next week's wellbeing. With ``lag: 1`` the production
panel builder and the pandas engine recover the planted effect (and the result and provenance
record the lag); with the default ``lag: 0`` the same question reads the wrong week and misses
it. Plus the spec's rule and the in-hand (CSV) table's lag.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta

import pandas as pd
import pytest
from pydantic import SecretStr, ValidationError

from shared.domain.analysis import AnalysisSpec, SpecProblem, Window
from shared.domain.synthetic_org import generate_org
from shared.platform.resources import Needs, Resources, open_resources
from shared.platform.settings import Settings
from shared.services.causal_analysis import ProgressState, compute
from shared.services.causal_local import lagged_outcome
from shared.services.synthetic_org import load_org
from tests.conftest import own_database

FIRST = date(2024, 1, 1)
WEEKS = 10
TRUTH = -0.4


@pytest.fixture(scope="module")
async def lag_res(settings: Settings, stack_env: dict[str, str], run_id: str) -> AsyncIterator[Resources]:
    org = generate_org(
        41, people=200, weeks=WEEKS, true_effect=TRUTH, first_week=FIRST, load_on_treatment=1.0, load_on_outcome=-1.0
    )
    async with (
        own_database(stack_env, run_id, "lag") as dsn,
        open_resources(settings.replace(pg_dsn=SecretStr(dsn)), Needs(pg=True)) as res,
    ):
        await load_org(res, org)
        async with res.pg.acquire() as conn:  # the outcome happens one week after the treatment
            await conn.execute(
                """CREATE TEMP TABLE moved AS SELECT employee, period + 7 AS period, metric, value, source
                     FROM outcomes;
                   TRUNCATE outcomes;
                   INSERT INTO outcomes (employee, period, metric, value, source) SELECT * FROM moved"""
            )
        yield res


def spec(lag: int) -> AnalysisSpec:
    return AnalysisSpec(
        treatment="meeting_hours",
        outcome="wellbeing",
        confounders=["team", "role", "tenure_years"],
        estimand="ate",
        refuters=[],
        sensitivity=False,
        window=Window(start=FIRST, end=FIRST + timedelta(weeks=WEEKS - 1)),
        lag=lag,
    )


async def test_lag_one_recovers_an_effect_on_next_weeks_outcome(lag_res: Resources) -> None:
    lagged, provenance = await compute(lag_res, spec(1), ProgressState())
    assert lagged.ci_low <= TRUTH <= lagged.ci_high, lagged
    assert lagged.lag == 1 and provenance["lag"] == 1
    assert lagged.rows == 200 * WEEKS  # the window's last week reads its outcome a week past the window
    same_week, provenance0 = await compute(lag_res, spec(0), ProgressState())
    assert same_week.lag == 0 and provenance0["lag"] == 0
    assert same_week.rows == 200 * (WEEKS - 1)  # the first week has no outcome of its own
    assert not same_week.ci_low <= TRUTH <= same_week.ci_high  # the default reads the wrong week
    assert abs(same_week.effect - TRUTH) > 3 * abs(lagged.effect - TRUTH)


def test_lag_rules() -> None:
    assert AnalysisSpec(treatment="meeting_hours", outcome="wellbeing", confounders=["team"]).lag == 0
    with pytest.raises(ValidationError, match="outcomes table"):  # a metric outcome has no lagged panel
        AnalysisSpec(treatment="meeting_hours", outcome="betweenness", confounders=["team"], lag=1)
    with pytest.raises(ValidationError):
        AnalysisSpec(treatment="meeting_hours", outcome="wellbeing", confounders=["team"], lag=-1)
    frame = pd.DataFrame(
        {"employee": ["a", "a", "a", "b", "b"], "period": [1, 2, 3, 1, 2], "wellbeing": [10.0, 11.0, 12.0, 20.0, 21.0]}
    )
    shifted = lagged_outcome(frame, spec(1))
    assert shifted["wellbeing"].tolist()[:4] == [11.0, 12.0, pytest.approx(float("nan"), nan_ok=True), 21.0]
    with pytest.raises(SpecProblem) as problem:
        lagged_outcome(frame.drop(columns=["period"]), spec(1))
    assert problem.value.field == "lag"
