"""Causal tests get their own migrated database (other areas write employee_metrics in the
session database) and their own Temporal task queue; the Spark tests share the 150K fixture,
its analysis spec and the 1% agreement rule."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest
from pydantic import SecretStr

from shared.domain.analysis import AnalysisSpec, Window
from shared.domain.synthetic_org import generate_org
from shared.platform.resources import Needs, Resources, open_resources
from shared.platform.settings import Settings
from shared.services.synthetic_org import load_org
from tests.conftest import database_fixture

WEEK0 = date(2023, 1, 2)
PEOPLE, WEEKS = 1500, 100  # 150,000 person-weeks: above the Spark threshold


causal_dsn = database_fixture("causal_dsn", "causal")


@pytest.fixture(scope="session")
def causal_settings(settings: Settings, causal_dsn: str, run_id: str) -> Settings:
    return settings.replace(
        **{
            "pg_dsn": SecretStr(causal_dsn),
            "temporal_task_queue": f"causal-test-{run_id}",
            "causal_heartbeat_timeout_s": 5.0,
            "spark_driver_memory": "2g",
            "rate_limit_analysis": 10_000,
            "rate_limit_write": 10_000,
            "rate_limit_prefix": f"co:rl:causal-test-{run_id}",
        }
    )


@pytest.fixture(scope="session")
async def cres(causal_settings: Settings) -> AsyncIterator[Resources]:
    async with open_resources(causal_settings, Needs(pg=True, temporal=True)) as res:
        yield res


@pytest.fixture(scope="session")
async def big_org(cres: Resources) -> Window:
    """150,000 person-weeks with a planted effect of -0.4, loaded once for the Spark tests."""
    org = generate_org(
        31,
        people=PEOPLE,
        weeks=WEEKS,
        first_week=WEEK0,
        team_size=50,
        load_on_treatment=1.0,
        load_on_outcome=-1.0,
        person_effect=0.5,
    )
    counts = await load_org(cres, org)
    assert counts["metric_rows"] == PEOPLE * WEEKS
    return Window(start=WEEK0, end=org.weeks[-1])


def big_spec(window: Window, **extra: Any) -> AnalysisSpec:
    """The analysis the Spark tests run on ``big_org``: meeting hours on wellbeing, no refuters unless given."""
    return AnalysisSpec(
        **{
            "treatment": "meeting_hours",
            "outcome": "wellbeing",
            "confounders": ["team", "role", "tenure_years"],
            "window": window,
            "refuters": [],
            **extra,
        }
    )


def close(a: float, b: float, rel: float = 0.01) -> bool:
    """``a`` and ``b`` agree within ``rel`` of the larger."""
    return abs(a - b) <= rel * max(abs(a), abs(b))
