"""Rate limiting against the real Redis: the sliding-window property, headers, classes, premium,
per-IP budgets, and what happens when Redis is down."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import redis.asyncio as aioredis
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from shared.adapters.redis_pool import build_redis
from shared.platform.ratelimit import RateClass, RateLimiter
from shared.platform.settings import Settings
from tests.api.conftest import Mint, bearer, build_test_app, running


@pytest.fixture(scope="module")
async def redis_client(api_settings: Settings) -> AsyncIterator[aioredis.Redis]:
    client = build_redis(api_settings)
    yield client
    async for key in client.scan_iter(match=f"{api_settings.ratelimit.prefix}:*"):
        await client.unlink(key)
    await client.aclose()


class SimClock:
    def __init__(self) -> None:
        self.t = 1_000_000.0

    def __call__(self) -> float:
        return self.t


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    limit=st.integers(min_value=1, max_value=8),
    window_s=st.integers(min_value=1, max_value=5),
    gaps_ms=st.lists(st.integers(min_value=0, max_value=2500), min_size=1, max_size=60),
)
async def test_no_client_ever_exceeds_n_in_any_window(
    limit: int, window_s: int, gaps_ms: list[int], api_settings: Settings, redis_client: aioredis.Redis
) -> None:
    """Property: for any arrival times, admitted requests in any half-open window [a, a+W) <= N,
    and a 429 carries Retry-After / RateLimit-* that say when room returns."""
    run = uuid.uuid4().hex[:8]
    s = api_settings.replace(
        **{
            "rate_limit_prefix": f"{api_settings.ratelimit.prefix}:{run}",
            "rate_limit_window_s": window_s,
            "rate_limit_read": limit,
        }
    )
    clock = SimClock()
    limiter = RateLimiter(s, redis_client, clock=clock)
    window_ms = window_s * 1000
    admitted: list[int] = []
    for gap in gaps_ms:
        clock.t += gap / 1000
        now_ms = int(clock.t * 1000)
        d = await limiter.hit(RateClass.READ, subject="alice", ip=None)
        in_window = [t for t in admitted if t > now_ms - window_ms]
        if d.allowed:
            admitted.append(now_ms)
            assert d.remaining == limit - len(in_window) - 1
            assert d.retry_after_s == 0
        else:
            # refused only when the window is really full, and told exactly when it frees up
            assert len(in_window) >= limit
            assert d.remaining == 0 and d.limit == limit
            frees_at = sorted(in_window)[len(in_window) - limit] + window_ms
            assert d.retry_after_s == max(1, -(-(frees_at - now_ms) // 1000))
            headers = d.headers(window_s)
            assert headers["Retry-After"] == str(d.retry_after_s)
            assert headers["RateLimit-Limit"] == str(limit) and headers["RateLimit-Remaining"] == "0"
            assert 1 <= int(headers["RateLimit-Reset"]) <= window_s
    # the property, over every window that starts at an admitted request
    for start in admitted:
        assert sum(1 for t in admitted if start <= t < start + window_ms) <= limit


async def test_user_and_ip_budgets_and_premium(api_settings: Settings, redis_client: aioredis.Redis) -> None:
    s = api_settings.replace(
        **{
            "rate_limit_prefix": f"{api_settings.ratelimit.prefix}:{uuid.uuid4().hex[:6]}",
            "rate_limit_write": 3,
            "rate_limit_ip_factor": 2.0,
            "rate_limit_premium_factor": 3.0,
        }
    )
    clock = SimClock()
    limiter = RateLimiter(s, redis_client, clock=clock)
    got = [(await limiter.hit(RateClass.WRITE, subject="bob", ip="1.1.1.1")).allowed for _ in range(5)]
    assert got == [True, True, True, False, False]
    # another user behind the same IP: the IP budget (2 x 3 = 6) has 3 left
    got = [(await limiter.hit(RateClass.WRITE, subject="carol", ip="1.1.1.1")).allowed for _ in range(4)]
    assert got == [True, True, True, False]
    # a premium user gets 3 x 3 = 9 (authenticated requests are limited per user only)
    got = [(await limiter.hit(RateClass.WRITE, subject="dave", ip=None, premium=True)).allowed for _ in range(10)]
    assert got.count(True) == 9 and got[-1] is False
    # the IP bucket has its own limit (2 x 3 = 6), not widened by a premium caller
    got = [(await limiter.hit(RateClass.WRITE, subject="erin", ip="3.3.3.3", premium=True)).allowed for _ in range(8)]
    assert got.count(True) == 6
    # classes are independent: bob's reads are untouched by his writes
    assert (await limiter.hit(RateClass.READ, subject="bob", ip="1.1.1.1")).allowed
    # the window slides: after W seconds bob has room again
    clock.t += s.ratelimit.window_s
    assert (await limiter.hit(RateClass.WRITE, subject="bob", ip="1.1.1.1")).allowed


async def test_http_429_headers_and_per_endpoint_counts(api_settings: Settings, mint: Mint) -> None:
    s = api_settings.replace(
        **{
            "rate_limit_prefix": f"{api_settings.ratelimit.prefix}:{uuid.uuid4().hex[:6]}",
            "rate_limit_read": 3,
        }
    )
    async with running(build_test_app(s)) as client:
        token = bearer(mint("analyst", subject="eve"))
        responses = [await client.get("/v1/metrics/graph/live", headers=token) for _ in range(4)]
        assert [r.status_code for r in responses] == [200, 200, 200, 429]
        assert [r.headers["ratelimit-remaining"] for r in responses] == ["2", "1", "0", "0"]
        assert all(r.headers["ratelimit-limit"] == "3" for r in responses)
        limited = responses[-1]
        assert 1 <= int(limited.headers["retry-after"]) <= s.ratelimit.window_s
        assert limited.json()["error"]["code"] == "rate_limited"
        # a premium subject is not limited at 3
        premium = bearer(mint("analyst", subject="frank", tier="premium"))
        codes = [(await client.get("/v1/metrics/graph/live", headers=premium)).status_code for _ in range(5)]
        assert codes == [200] * 5
        metrics = (await client.get("/metrics")).text
        series = 'co_ratelimit_requests_total{endpoint="GET /v1/metrics/graph/live",outcome="%s",rate_class="read"}'
        assert f"{series % 'limited'} 1.0" in metrics
        assert f"{series % 'allowed'} 8.0" in metrics


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # released on close: nothing listens there


async def test_redis_down_reads_fail_open_writes_fail_closed(api_settings: Settings, mint: Mint) -> None:
    """Decision (docs/api.md): reads are served without a limiter, everything else gets 503."""
    from fastapi import APIRouter, Depends

    from shared.platform.auth import Permission, Principal, require

    router = APIRouter()

    @router.get("/v1/probe/read")
    async def read(_: Principal = Depends(require(Permission.READ_TEAM_AGGREGATES))) -> dict[str, bool]:
        return {"ok": True}

    @router.post("/v1/probe/analysis")
    async def analysis(_: Principal = Depends(require(Permission.RUN_ANALYSES))) -> dict[str, bool]:
        return {"ok": True}

    down = api_settings.replace(**{"redis_url": f"redis://127.0.0.1:{_closed_port()}/0", "cache_enabled": False})
    from shared.platform.http import create_app
    from shared.platform.resources import Needs

    app = create_app(title="probe", needs=Needs(redis=True), routers=[router], settings=down)
    async with running(app) as client:
        r = await client.get("/v1/probe/read", headers=bearer(mint("viewer")))
        assert r.status_code == 200 and r.json() == {"ok": True}
        assert "ratelimit-limit" not in r.headers
        r = await client.post("/v1/probe/analysis", headers=bearer(mint("analyst")))
        assert r.status_code == 503
        assert r.headers["retry-after"] == "5"
        assert r.json()["error"]["code"] == "rate_limiter_unavailable"
        metrics = (await client.get("/metrics")).text
        assert 'outcome="fail_open",rate_class="read"' in metrics
        assert 'outcome="fail_closed",rate_class="analysis"' in metrics
        # readiness tells the orchestrator
        ready = await client.get("/health/ready")
        assert ready.status_code == 503 and ready.json()["checks"]["redis"]["ok"] is False
        assert (await client.get("/health/live")).status_code == 200


async def test_unauthenticated_requests_are_limited_per_ip(api_settings: Settings, mint: Mint) -> None:
    s = api_settings.replace(
        **{
            "rate_limit_prefix": f"{api_settings.ratelimit.prefix}:{uuid.uuid4().hex[:6]}",
            "rate_limit_unauthenticated": 2,
            "rate_limit_ip_factor": 2.0,
        }
    )
    async with running(build_test_app(s)) as client:  # every request comes from 10.1.2.3
        codes = [(await client.get("/v1/metrics/graph/live", headers=bearer("junk"))).status_code for _ in range(6)]
        assert codes == [401, 401, 401, 401, 429, 429]
        # a valid token is limited per user, not by the address the junk came from
        assert (
            await client.get("/v1/metrics/graph/live", headers=bearer(mint("analyst", subject="ok")))
        ).status_code == 200
        assert isinstance(client, httpx.AsyncClient)
