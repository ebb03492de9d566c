"""Metrics tests get their own graph and database (other areas write to the session ones)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from shared.platform.resources import Needs, Resources, open_resources
from shared.platform.settings import Settings
from tests.conftest import database_fixture

# metrics tests read "the latest summary": they need a database no other area refreshes in
metrics_dsn = database_fixture("metrics_dsn", "metrics")


@pytest.fixture(scope="session")
def metrics_settings(settings: Settings, metrics_dsn: str) -> Settings:
    return settings.replace(
        **{
            "pg_dsn": SecretStr(metrics_dsn),
            "graph_name": settings.graph.name + "_metrics",
            "temporal_task_queue": settings.graph.name + "-metrics",
            # these tests load running totals straight into the graph store (no ledger behind
            # them); the window reading is proven in test_windows.py
            "metrics_live_reading": "cumulative",
        }
    )


@pytest.fixture(scope="session")
async def mres(metrics_settings: Settings) -> AsyncIterator[Resources]:
    async with open_resources(metrics_settings, Needs(graph=True, redis=True, pg=True)) as res:
        await res.graph.clear()
        yield res
        await res.graph.clear()
