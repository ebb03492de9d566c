"""Metrics tests get their own graph (other areas' tests write to the session graph)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from shared.platform.resources import Needs, Resources, open_resources
from shared.platform.settings import Settings


@pytest.fixture(scope="session")
def metrics_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "graph_name": settings.graph_name + "_metrics",
            "temporal_task_queue": settings.graph_name + "-metrics",
        }
    )


@pytest.fixture(scope="session")
async def mres(metrics_settings: Settings) -> AsyncIterator[Resources]:
    async with open_resources(metrics_settings, Needs(graph=True, redis=True, pg=True)) as res:
        await res.graph.clear()
        yield res
        await res.graph.clear()
