"""Response caching for cacheable GET routes: L1 in-process TTL cache in front of Redis (L2).

- Key: ``{cache_prefix}:{namespace}:{scope}:{digest(path?sorted query)}``. ``scope`` is a hash
  of the caller's *permission set* (plus the subject for per-user routes), so a viewer can
  never be served a body that was rendered for an analyst; callers with identical permissions
  share entries.
- L1 (``cachetools.TTLCache``, bounded, short TTL) saves the Redis round trip for hot keys;
  L2 (Redis ``SET EX``) is shared by every process and function.
- Invalidation: :func:`invalidate` deletes matching L2 keys (SCAN + UNLINK) and publishes the
  patterns on ``cache_channel``; every app process listens and drops matching L1 entries.
  Call it whenever the graph or the metrics change, e.g. ``invalidate(res, ["graph:*",
  "metrics:*"])``. A reader that was computing while the invalidation ran can still store its
  (slightly older) body; the TTL bounds that window.
- HTTP: ``X-Cache: HIT|MISS``, a strong ``ETag`` (hash of the body), ``304`` on a matching
  ``If-None-Match``, ``Cache-Control: private`` and ``Vary: Authorization`` (bodies depend on
  the caller's role).

Use :func:`cached` under the route decorator::

    @router.get("/v1/metrics/graph/live", response_model=GraphStats)
    @cached("graph")
    async def graph_stats(request: Request, _: Principal = Depends(require(...))) -> GraphStats: ...

Authentication, the permission check and the rate limit run before the cache is consulted
(they are dependencies), so a cache hit never skips them.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import functools
import hashlib
import inspect
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Protocol, get_type_hints

from cachetools import TTLCache
from fastapi import Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import Response
from pydantic import BaseModel
from redis.exceptions import RedisError

from shared.domain.roles import ROLE_PERMISSIONS
from shared.platform.settings import Settings

if TYPE_CHECKING:
    import redis.asyncio as aioredis

    from shared.platform.auth import Principal

log = logging.getLogger(__name__)

CACHED_MARK = "__co_cache_namespace__"


@dataclass(frozen=True)
class Entry:
    etag: str
    body: bytes

    def encode(self) -> bytes:
        return self.etag.encode() + b"\n" + self.body

    @classmethod
    def decode(cls, raw: bytes) -> Entry:
        etag, _, body = raw.partition(b"\n")
        return cls(etag.decode(), body)


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison, as If-None-Match requires."""
    if not if_none_match:
        return False
    bare = etag.removeprefix("W/")
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == bare:
            return True
    return False


def scope_of(principal: Principal, per_user: bool = False) -> str:
    """What the body may depend on: the permission set (and the subject for per-user routes)."""
    perms = sorted({p.value for r in principal.roles for p in ROLE_PERMISSIONS[r]})
    raw = ",".join(perms) + (("|" + principal.subject) if per_user else "")
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


class ResponseCache:
    """L1 + L2 for rendered response bodies. One per app process (lives on ``app.state``)."""

    def __init__(self, settings: Settings, redis: aioredis.Redis | None) -> None:
        self.settings = settings
        self.redis = redis
        self.prefix = settings.cache.prefix
        self._pending: set[asyncio.Task[None]] = set()
        self.l1: TTLCache[str, Entry] = TTLCache(
            maxsize=settings.cache.l1_max_entries, ttl=min(settings.cache.l1_ttl_s, settings.cache.ttl_s)
        )

    def key(self, namespace: str, request: Request, scope: str) -> str:
        query = "&".join(f"{k}={v}" for k, v in sorted(request.query_params.multi_items()))
        digest = hashlib.sha256(f"{request.url.path}?{query}".encode()).hexdigest()[:32]
        return f"{self.prefix}:{namespace}:{scope}:{digest}"

    async def get(self, key: str) -> tuple[Entry | None, str]:
        """The entry and where it came from: ``l1``, ``l2`` or ``miss``."""
        entry = self.l1.get(key)
        if entry is not None:
            return entry, "l1"
        if self.redis is None:
            return None, "miss"
        try:
            raw = await self.redis.get(key)
        except (RedisError, OSError) as exc:  # the cache is an optimisation: read through
            log.warning("cache L2 unavailable: %s", type(exc).__name__)
            return None, "miss"
        if raw is None:
            return None, "miss"
        entry = Entry.decode(raw if isinstance(raw, bytes) else raw.encode())
        self.l1[key] = entry
        return entry, "l2"

    async def put(self, key: str, entry: Entry, ttl_s: int | None = None) -> None:
        self.l1[key] = entry
        if self.redis is None:
            return
        try:
            await self.redis.set(key, entry.encode(), ex=ttl_s or self.settings.cache.ttl_s)
        except (RedisError, OSError) as exc:
            log.warning("cache L2 unavailable: %s", type(exc).__name__)

    def put_soon(self, key: str, entry: Entry, ttl_s: int | None = None) -> None:
        """L1 now, L2 in the background: a miss answers without waiting for the Redis write."""
        self.l1[key] = entry
        if self.redis is None:
            return
        task = asyncio.create_task(self.put(key, entry, ttl_s))
        self._pending.add(task)  # keep a reference until it is done
        task.add_done_callback(self._pending.discard)

    async def drain(self, timeout_s: float) -> None:
        """Let background L2 writes finish (bounded): a Lambda invocation's lifespan ends right
        after its one request, and the next invocation only finds what reached Redis."""
        if self._pending:
            await asyncio.wait(set(self._pending), timeout=timeout_s)

    def drop_local(self, patterns: Sequence[str]) -> int:
        """Drop L1 entries whose full key matches any glob pattern."""
        doomed = [k for k in list(self.l1.keys()) if any(fnmatch.fnmatchcase(k, p) for p in patterns)]
        for k in doomed:
            self.l1.pop(k, None)
        return len(doomed)

    async def listen(self, ready: asyncio.Event | None = None) -> None:
        """Drop L1 entries named by invalidation messages, until cancelled; reconnects on errors."""
        if self.redis is None:
            return
        backoff = 0.5
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.settings.cache.channel)
                if ready is not None:
                    ready.set()
                backoff = 0.5
                async for message in _messages(pubsub):
                    try:
                        patterns = json.loads(message)
                    except ValueError:
                        continue
                    if isinstance(patterns, list):
                        self.drop_local([str(p) for p in patterns])
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - keep listening whatever happened
                log.warning("cache invalidation listener: %s; reconnecting", type(exc).__name__)
                self.l1.clear()  # we may have missed invalidations while disconnected
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()


async def _messages(pubsub: Any) -> AsyncIterator[bytes]:
    async for message in pubsub.listen():
        if message.get("type") == "message":
            data = message.get("data")
            yield data if isinstance(data, bytes) else str(data).encode()


class HasRedisAndSettings(Protocol):
    """Resources, or anything else holding a redis client and settings (e.g. the graph updater)."""

    settings: Settings

    @property
    def redis(self) -> aioredis.Redis: ...


async def invalidate(resources: HasRedisAndSettings, patterns: Sequence[str]) -> int:
    """Delete cached bodies matching ``patterns`` (globs after the prefix, e.g. ``"graph:*"``)
    from Redis and tell every process to drop them from L1. Returns the number of L2 keys removed."""
    settings = resources.settings
    redis = resources.redis
    full = [f"{settings.cache.prefix}:{p}" for p in patterns]
    removed = 0
    for pattern in full:
        batch: list[bytes] = []
        async for key in redis.scan_iter(match=pattern, count=500):
            batch.append(key)
            if len(batch) >= 500:
                removed += int(await redis.unlink(*batch))
                batch = []
        if batch:
            removed += int(await redis.unlink(*batch))
    await redis.publish(settings.cache.channel, json.dumps(full))
    return removed


def _render(result: Any) -> bytes:
    if isinstance(result, BaseModel):
        return result.model_dump_json().encode()
    return json.dumps(jsonable_encoder(result), separators=(",", ":")).encode()


def _response(entry: Entry, status: str, if_none_match: str | None) -> Response:
    headers = {
        "ETag": entry.etag,
        "X-Cache": status,
        "Cache-Control": "private, no-cache",
        "Vary": "Authorization",
    }
    if etag_matches(if_none_match, entry.etag):
        return Response(status_code=304, headers=headers)
    return Response(content=entry.body, media_type="application/json", headers=headers)


def cached(
    namespace: str, *, ttl_s: int | None = None, per_user: bool = False
) -> Callable[[Callable[..., Awaitable[Any]]], Callable[..., Awaitable[Response]]]:
    """Cache a GET route's JSON body by namespace, caller scope, path and query."""

    def decorate(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Response]]:
        hints = get_type_hints(fn, include_extras=True)
        sig = inspect.signature(fn)
        params = [p.replace(annotation=hints.get(p.name, p.annotation)) for p in sig.parameters.values()]
        request_param = next((p.name for p in params if p.annotation is Request), None)
        extra: list[inspect.Parameter] = []
        if request_param is None:
            extra.append(inspect.Parameter("co_cache_request", inspect.Parameter.KEYWORD_ONLY, annotation=Request))
        extra.append(
            inspect.Parameter(
                "if_none_match",
                inspect.Parameter.KEYWORD_ONLY,
                default=None,
                annotation=Annotated[
                    str | None,
                    Header(
                        alias="If-None-Match",
                        max_length=1024,
                        description="An ETag from an earlier response; 304 when it still matches",
                    ),
                ],
            )
        )

        @functools.wraps(fn)
        async def wrapper(*args: Any, **kwargs: Any) -> Response:
            if_none_match = kwargs.pop("if_none_match", None)
            request: Request = kwargs.pop("co_cache_request") if request_param is None else kwargs[request_param]
            cache: ResponseCache | None = getattr(request.app.state, "cache", None)
            principal = getattr(request.state, "principal", None)
            if cache is None or principal is None or not cache.settings.cache.enabled:
                return _response(_entry(await fn(*args, **kwargs)), "MISS", if_none_match)
            key = cache.key(namespace, request, scope_of(principal, per_user))
            entry, source = await cache.get(key)
            count = getattr(request.app.state, "count_cache", None)
            if count is not None:
                count(namespace, source)
            if entry is not None:
                return _response(entry, "HIT", if_none_match)
            entry = _entry(await fn(*args, **kwargs))
            cache.put_soon(key, entry, ttl_s)
            return _response(entry, "MISS", if_none_match)

        wrapper.__signature__ = sig.replace(  # type: ignore[attr-defined]
            parameters=[*params, *extra], return_annotation=hints.get("return", sig.return_annotation)
        )
        del wrapper.__wrapped__  # FastAPI must read the new signature, not the original's
        setattr(wrapper, CACHED_MARK, namespace)
        return wrapper

    return decorate


def _entry(result: Any) -> Entry:
    body = _render(result)
    return Entry(etag_of(body), body)
