"""Pool statistics in one shape for every pool, for the metrics endpoint and readiness."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class PoolStats:
    """Connections handed out, connections parked, callers queued for one, and the cap."""

    name: str
    in_use: int
    idle: int
    waiting: int
    max_size: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def redis_pool_stats(name: str, pool: Any) -> PoolStats:
    """Read a redis.asyncio (Blocking)ConnectionPool. Waiters come from its condition's queue."""
    condition = getattr(pool, "_condition", None)
    waiters = getattr(condition, "_waiters", None) if condition is not None else None
    return PoolStats(
        name=name,
        in_use=len(getattr(pool, "_in_use_connections", ())),
        idle=len(getattr(pool, "_available_connections", ())),
        waiting=len(waiters) if waiters is not None else 0,
        max_size=int(getattr(pool, "max_connections", 0) or 0),
    )
