"""Prometheus registry per app (no global registry state) and collectors for pool statistics."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from shared.platform.resources import Resources


def new_registry() -> CollectorRegistry:
    return CollectorRegistry(auto_describe=True)


class PoolCollector(Collector):
    """Exports in-use / idle / waiting / max for every pool the function holds."""

    def __init__(self, resources: Resources) -> None:
        self._resources = resources

    def collect(self) -> Iterator[GaugeMetricFamily]:
        families = {
            field: GaugeMetricFamily(f"co_pool_{field}", f"pool connections: {field}", labels=["pool"])
            for field in ("in_use", "idle", "waiting", "max_size")
        }
        for stats in self._resources.pool_stats():
            for field, family in families.items():
                family.add_metric([stats.name], float(getattr(stats, field)))
        yield from families.values()
