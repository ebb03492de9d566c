"""The graph build's progress, kept in one Redis hash (``graph_build_key``) so every function can
report it and endpoints that need the graph can answer 503 + Retry-After until it is ready."""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis

from shared.platform.settings import Settings


@dataclass(frozen=True)
class BuildStatus:
    state: str  # building | ready | failed | unknown
    done: int = 0
    total: int = 0
    percent: float = 0.0
    eta_s: float | None = None
    started_at: float | None = None
    error: str | None = None

    @property
    def ready(self) -> bool:
        return self.state in ("ready", "unknown")


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def read_status(redis: aioredis.Redis, settings: Settings) -> BuildStatus:
    raw = await redis.hgetall(settings.graph.build_key)
    if not raw:
        return BuildStatus(state="unknown")
    f = {_text(k): _text(v) for k, v in raw.items()}
    return BuildStatus(
        state=f.get("state", "unknown"),
        done=int(f.get("done", 0)),
        total=int(f.get("total", 0)),
        percent=float(f.get("percent", 0.0)),
        eta_s=float(f["eta_s"]) if f.get("eta_s") else None,
        started_at=float(f["started_at"]) if f.get("started_at") else None,
        error=f.get("error") or None,
    )
