"""Rate limiting: an exact sliding window in Redis, per user and per IP, by endpoint class.

Authenticated requests are limited per user only: behind one address (a NAT, an office proxy)
many users share an IP, and a shared IP bucket lets one heavy (premium) user starve the rest.
Requests without a valid token are limited per client IP (class ``unauthenticated``), before
the 401, so token guessing and junk are bounded. The IP is the peer address as uvicorn sees it
through ``--proxy-headers`` from trusted proxies only (docs/api.md, "Trusted proxies").

Why a sliding *log* (one sorted-set entry per admitted request) and not a fixed window or a
token bucket: it is the only shape that guarantees "never more than N requests in any window
of W seconds" with no burst at window edges, which is what the tests assert. Memory is one
entry per admitted request per key, bounded by N, and the keys expire after W.

The check is one Lua script (``register_script``: EVALSHA, reloaded if Redis forgets it), so
"count, then admit" is atomic across every process of every function. It checks the user's
key and the IP's key together and admits only when both have room; a refused request is not
recorded, so a client that keeps knocking while blocked is not blocked for longer.

The clock is injected (``clock`` or ``now=``) and passed to the script, so tests drive it.

Redis down: classes listed in ``ratelimit.fail_open`` (default: reads) are served anyway,
everything else (writes, analyses, ingest, admin) gets 503 + Retry-After. Reads are cheap and
their stores protect themselves (bounded pools); a write or an analysis admitted without a
limiter could start expensive, durable work on behalf of a runaway client. Either way the
failure is logged and counted (``co_ratelimit_requests_total{outcome="fail_open|fail_closed"}``)
and /health/ready reports Redis down.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from redis.exceptions import RedisError

from shared.platform.error_shape import ApiError
from shared.platform.settings import Settings

if TYPE_CHECKING:
    import redis.asyncio as aioredis

log = logging.getLogger(__name__)


class RateClass(StrEnum):
    READ = "read"
    WRITE = "write"
    ANALYSIS = "analysis"
    INGEST = "ingest"
    ADMIN = "admin"
    UNAUTHENTICATED = "unauthenticated"  # requests without a valid token, limited per client IP


# KEYS: one sorted set per subject (user, ip). ARGV: now_ms, window_ms, member, limit per key.
# Returns {allowed, limit, remaining, reset_ms, retry_after_ms} for the most constrained key.
SLIDING_WINDOW_LUA = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local member = ARGV[3]
local counts = {}
local allowed = 1
local retry_after = 0
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[3 + i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local count = redis.call('ZCARD', key)
  counts[i] = count
  if count >= limit then
    allowed = 0
    local oldest = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
    local wait = tonumber(oldest[2]) + window - now
    if wait > retry_after then retry_after = wait end
  end
end
local best_limit = 0
local best_remaining = nil
local best_reset = window
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[3 + i])
  local used = counts[i]
  if allowed == 1 then
    redis.call('ZADD', key, now, member)
    redis.call('PEXPIRE', key, window)
    used = used + 1
  end
  local remaining = limit - used
  if remaining < 0 then remaining = 0 end
  if best_remaining == nil or remaining < best_remaining then
    best_remaining = remaining
    best_limit = limit
    local first = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    if first[2] then best_reset = tonumber(first[2]) + window - now else best_reset = window end
  end
end
return {allowed, best_limit, best_remaining, best_reset, retry_after}
"""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_s: int  # seconds until the window has room for one more (for the binding key)
    retry_after_s: int  # 0 when allowed

    def headers(self, window_s: int) -> dict[str, str]:
        out = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_s),
            "RateLimit-Policy": f"{self.limit};w={window_s}",
        }
        if not self.allowed:
            out["Retry-After"] = str(self.retry_after_s)
        return out


def _ceil_s(ms: float) -> int:
    return max(1, math.ceil(ms / 1000.0))


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:24]


class RateLimiter:
    """The per-process handle on the shared sliding windows."""

    def __init__(self, settings: Settings, redis: aioredis.Redis, clock: Callable[[], float] = time.time) -> None:
        self._settings = settings
        self._redis = redis
        self._script = redis.register_script(SLIDING_WINDOW_LUA)
        self._clock = clock
        self.window_s = settings.ratelimit.window_s

    def limit_for(self, rate_class: RateClass, premium: bool) -> int:
        base = int(getattr(self._settings.ratelimit, rate_class.value))
        return max(1, int(base * self._settings.ratelimit.premium_factor)) if premium else base

    def ip_limit(self, rate_class: RateClass) -> int:
        """The per-IP bucket's own limit: never scaled by the caller's tier, so one premium
        caller cannot widen (and then drain) the budget everyone behind its address shares."""
        return max(1, int(self.limit_for(rate_class, False) * self._settings.ratelimit.ip_factor))

    def key(self, rate_class: RateClass, kind: str, who: str) -> str:
        return f"{self._settings.ratelimit.prefix}:{rate_class.value}:{kind}:{_digest(who)}"

    async def hit(
        self,
        rate_class: RateClass,
        *,
        subject: str | None,
        ip: str | None,
        premium: bool = False,
        now: float | None = None,
    ) -> Decision:
        """Count one request for the subject and the IP; admitted only if both have room."""
        user_limit = self.limit_for(rate_class, premium)
        keys: list[str] = []
        limits: list[int] = []
        if subject is not None:
            keys.append(self.key(rate_class, "u", subject))
            limits.append(user_limit)
        if ip is not None:
            keys.append(self.key(rate_class, "ip", ip))
            limits.append(self.ip_limit(rate_class))
        if not keys:
            raise ValueError("a rate-limited request needs a subject or an IP")
        now_ms = int((self._clock() if now is None else now) * 1000)
        member = f"{now_ms}:{uuid.uuid4().hex[:12]}"
        allowed, limit, remaining, reset_ms, retry_ms = await self._script(
            keys=keys, args=[now_ms, self.window_s * 1000, member, *limits]
        )
        return Decision(
            allowed=bool(allowed),
            limit=int(limit),
            remaining=int(remaining),
            reset_s=_ceil_s(float(reset_ms)),
            retry_after_s=_ceil_s(float(retry_ms)) if not allowed else 0,
        )

    async def enforce(
        self,
        rate_class: RateClass,
        *,
        subject: str | None,
        ip: str | None,
        premium: bool,
        endpoint: str,
        count: Callable[[str, str, str], None],
    ) -> dict[str, str]:
        """Admit or raise 429/503; returns the RateLimit-* headers for the response."""
        try:
            decision = await asyncio.wait_for(
                self.hit(rate_class, subject=subject, ip=ip, premium=premium),
                self._settings.ratelimit.timeout_s,
            )
        except (RedisError, OSError, TimeoutError) as exc:
            return self._backend_down(rate_class, endpoint, count, exc)
        headers = decision.headers(self.window_s)
        if not decision.allowed:
            count(endpoint, rate_class.value, "limited")
            raise ApiError(429, "rate_limited", "too many requests; retry later", headers=headers)
        count(endpoint, rate_class.value, "allowed")
        return headers

    def _backend_down(
        self, rate_class: RateClass, endpoint: str, count: Callable[[str, str, str], None], exc: Exception
    ) -> dict[str, str]:
        if rate_class.value in self._settings.ratelimit.fail_open:
            log.warning("rate limiter unavailable (%s); failing open for %s", type(exc).__name__, endpoint)
            count(endpoint, rate_class.value, "fail_open")
            return {}
        log.warning("rate limiter unavailable (%s); failing closed for %s", type(exc).__name__, endpoint)
        count(endpoint, rate_class.value, "fail_closed")
        raise ApiError(
            503,
            "rate_limiter_unavailable",
            "rate limiter unavailable; retry later",
            headers={"Retry-After": "5"},
        )


def rate_class_for(method: str, permission: str) -> RateClass:
    """Default endpoint class from the HTTP method and the route's permission."""
    if permission == "ingest:events":
        return RateClass.INGEST
    if permission == "admin:operations":
        return RateClass.ADMIN
    if method in ("GET", "HEAD", "OPTIONS"):
        return RateClass.READ
    if permission == "run:analyses":
        return RateClass.ANALYSIS
    return RateClass.WRITE
