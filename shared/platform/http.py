"""The HTTP function shape: one factory builds every FastAPI app the same way.

Every app gets, without the function doing anything:

- the one error shape (``errors.py``) and documented error responses on every operation
  (401/403/429/503 where a permission is required, 413/422 where a body or parameters are
  read), plus the bearer security scheme and ``x-required-permission`` in the OpenAPI;
- a request body limit (413, chunked bodies included) and ``RateLimit-*`` response headers;
- a token verifier, the rate limiter (Redis sliding window, see ``ratelimit.py``) and the
  response cache (L1 + Redis, see ``caching.py``) with its invalidation listener;
- ``/health/live`` (touches nothing), ``/health/ready`` (each dependency with a real request,
  plus graph readiness; 503 when any is down) and ``/metrics`` for Prometheus;
- ``/``, ``/docs`` and ``/redoc`` served with their assets from the process (``docs.py``: no CDN).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute, APIWebSocketRoute
from pydantic import BaseModel
from starlette.routing import BaseRoute

from shared.platform.caching import CACHED_MARK, ResponseCache
from shared.platform.docs import install_docs
from shared.platform.error_reporting import init_error_reporting
from shared.platform.errors import ErrorResponse, install_error_handlers
from shared.platform.logs import configure_logging
from shared.platform.middleware import BodyLimitMiddleware, RateLimitHeadersMiddleware
from shared.platform.observability import (
    HttpMetrics,
    PoolCollector,
    RequestMetricsMiddleware,
    new_registry,
    run_scrape_hooks,
    scrape_hooks_for,
)
from shared.platform.ratelimit import RateLimiter
from shared.platform.resources import Needs, Resources, open_resources
from shared.platform.settings import Settings, load_settings
from shared.platform.tokens import TokenVerifier
from shared.platform.tracing import instrument_fastapi

_ERROR_TEXT: dict[int, str] = {
    400: "Malformed request (body is not JSON, or an invalid Content-Length)",
    401: "Missing or invalid bearer token (see WWW-Authenticate)",
    403: "The caller's role lacks the permission",
    413: "Request body too large",
    404: "No such resource (the one named in the path)",
    422: "Validation failed",
    429: "Rate limited (see Retry-After and RateLimit-* headers)",
    503: "A dependency (e.g. the rate limiter's Redis) is unavailable; see Retry-After",
}
PUBLIC_PATHS = frozenset(
    {
        "/",
        "/health/live",
        "/health/ready",
        "/metrics",
        "/docs",
        "/docs/oauth2-redirect",
        "/docs/assets",
        "/redoc",
        "/openapi.json",
        # the web app (functions/web): sign-in itself and its static assets
        "/app/signin",
        "/app/signin/oidc",
        "/app/signin/dev",
        "/app/auth/callback",
        "/app/static",
    }
)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries in the one error shape, for routes to add their own (404...)."""
    return {s: {"model": ErrorResponse, "description": _ERROR_TEXT.get(s, "Error")} for s in statuses}


class DependencyCheck(BaseModel):
    ok: bool
    latency_ms: float | None = None
    error: str | None = None
    state: str | None = None
    progress: dict[str, str] | None = None


class Readiness(BaseModel):
    status: str
    checks: dict[str, DependencyCheck]


def resources_of(request: Request) -> Resources:
    """The process's resources, injected into route handlers."""
    resources: Resources = request.app.state.resources
    return resources


def health_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/health/live", summary="Liveness: the process answers; touches no dependency")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/health/ready",
        summary="Readiness: every dependency answers a real request and the graph is built",
        response_model=Readiness,
        responses={503: {"model": Readiness, "description": "A dependency is down or the graph is not ready"}},
    )
    async def ready(request: Request) -> JSONResponse:
        checks = await resources_of(request).readiness()
        ok = all(c["ok"] for c in checks.values())
        return JSONResponse(
            {"status": "ready" if ok else "not_ready", "checks": checks}, status_code=200 if ok else 503
        )

    @router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        await run_scrape_hooks(getattr(request.app.state, "scrape_hooks", []))
        registry = request.app.state.metrics_registry
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return router


def route_permission(route: BaseRoute) -> str | None:
    """The permission a route's dependencies declare (``require(...)``), if any."""
    if not isinstance(route, APIRoute | APIWebSocketRoute):
        return None
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        permission = getattr(dep.call, "permission", None)
        if permission is not None:
            return str(permission.value if hasattr(permission, "value") else permission)
        stack.extend(dep.dependencies)
    return None


def iter_routes(app: FastAPI) -> Iterator[tuple[str, set[str], BaseRoute]]:
    """Every route the app serves as (full path, methods, original route), through included routers
    (FastAPI >= 0.13x keeps included routers as lazy ``_IncludedRouter`` entries in ``app.routes``)."""
    from fastapi.routing import iter_route_contexts

    for ctx in iter_route_contexts(app.routes):
        yield str(ctx.path), set(ctx.methods or ()), ctx.original_route


def _original_api_routes(routes: Sequence[BaseRoute]) -> Iterator[APIRoute]:
    """The APIRoute objects themselves, without building FastAPI's per-app route contexts
    (those snapshot ``responses``, so they must be built after :func:`document_routes`)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _original_api_routes(inner.routes)


def scalar_query_names(dependant: Any) -> frozenset[str]:
    """Query parameters that take one value, through sub-dependencies and query models
    (``Annotated[Model, Query()]``), so a repeated one can be refused (see ``auth.require``)."""
    from fastapi._compat.shared import field_annotation_is_sequence

    names: set[str] = set()
    stack = [dependant]
    while stack:
        dep = stack.pop()
        stack.extend(dep.dependencies)
        for field in dep.query_params:
            annotation = field.field_info.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                for name, info in annotation.model_fields.items():
                    if not field_annotation_is_sequence(info.annotation):
                        names.add(info.alias or name)
            elif not field_annotation_is_sequence(annotation):
                names.add(field.alias)
    return frozenset(names)


def _parameter_kinds(dependant: Any) -> set[str]:
    """Where a route takes parameters (query, path, header), its shared dependencies' parameters included."""
    kinds: set[str] = set()
    stack = [dependant]
    while stack:
        dep = stack.pop()
        kinds |= {kind for kind in ("query", "path", "header") if getattr(dep, f"{kind}_params")}
        stack.extend(dep.dependencies)
    return kinds


def document_routes(app: FastAPI) -> None:
    """Add the error responses each route can really produce, and its permission, to the OpenAPI."""
    for route in _original_api_routes(app.routes):
        statuses: list[int] = []
        permission = route_permission(route)
        if permission is not None:
            statuses += [401, 403, 429, 503]
            route.openapi_extra = {**(route.openapi_extra or {}), "x-required-permission": permission}
        kinds = _parameter_kinds(route.dependant)
        if route.body_field is not None or (route.methods or set()) & {"POST", "PUT", "PATCH"}:
            statuses += [400, 413, 422]
        elif kinds & {"query", "path", "header"}:
            statuses.append(422)
        if "path" in kinds:
            statuses.append(404)
        route.co_scalar_query = scalar_query_names(route.dependant)  # type: ignore[attr-defined]  # auth.require
        for status, spec in error_responses(*statuses).items():
            route.responses.setdefault(status, spec)
        if getattr(route.endpoint, CACHED_MARK, None) is not None:
            route.responses.setdefault(304, {"description": "Not modified: the If-None-Match ETag still matches"})


def hoist_defs(spec: dict[str, Any]) -> dict[str, Any]:
    """Move ``$defs`` of inline schemas (e.g. a model's ``model_json_schema()`` in ``openapi_extra``)
    into ``components/schemas`` and point their ``#/$defs/..`` refs there; left inline, those refs
    resolve against the document root and the OpenAPI is broken for every client generator."""
    components = spec.setdefault("components", {}).setdefault("schemas", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            defs = node.pop("$defs", None)
            if isinstance(defs, dict):
                for name, schema in defs.items():
                    components.setdefault(name, walk(schema))
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                node["$ref"] = "#/components/schemas/" + ref.removeprefix("#/$defs/")
            for key, value in list(node.items()):
                node[key] = walk(value)
        elif isinstance(node, list):
            return [walk(v) for v in node]
        return node

    spec["paths"] = walk(spec.get("paths", {}))
    return spec


def _install_openapi(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        spec = generate()  # FastAPI's, cached until the routes change
        if not spec.get("x-defs-hoisted"):
            spec["x-defs-hoisted"] = True
            hoist_defs(spec)
        return spec

    app.openapi = openapi  # type: ignore[method-assign]


def _install_metrics(app: FastAPI) -> None:
    """Per-app Prometheus counters, exposed as small callables on ``app.state``."""
    from prometheus_client import Counter

    registry = new_registry()
    app.state.metrics_registry = registry
    app.state.http_metrics = HttpMetrics(registry, app.state.settings.service_name)
    auth_failures = Counter(
        "co_auth_failures", "Authentication and authorisation failures", ["reason"], registry=registry
    )
    ratelimit = Counter(
        "co_ratelimit_requests",
        "Rate-limited requests by endpoint, class and outcome",
        ["endpoint", "rate_class", "outcome"],
        registry=registry,
    )
    cache = Counter("co_cache_requests", "Response cache lookups", ["namespace", "result"], registry=registry)
    count_auth: Callable[[str], None] = lambda reason: auth_failures.labels(reason).inc()  # noqa: E731
    count_rl: Callable[[str, str, str], None] = lambda e, c, o: ratelimit.labels(e, c, o).inc()  # noqa: E731
    count_cache: Callable[[str, str], None] = lambda ns, r: cache.labels(ns, r).inc()  # noqa: E731
    app.state.count_auth_failure = count_auth
    app.state.count_ratelimit = count_rl
    app.state.count_cache = count_cache


LISTENER_STOP_TIMEOUT_S = 1.0


def create_app(
    *,
    title: str,
    needs: Needs,
    routers: Sequence[APIRouter],
    settings: Settings | None = None,
    description: str = "",
) -> FastAPI:
    """Build an HTTP function. Nothing connects until the lifespan starts."""

    settings = settings or load_settings()
    if settings.ratelimit.enabled or settings.cache.enabled:
        needs = replace(needs, redis=True)  # limiter and L2 cache live in Redis

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_resources(settings, needs) as resources:
            app.state.resources = resources
            registry = app.state.metrics_registry
            # what this lifespan registers is unregistered at its end: Mangum runs one lifespan per
            # Lambda invocation in the same process, and a second registration would be refused
            before = set(registry._collector_to_names)
            registry.register(PoolCollector(resources))
            app.state.scrape_hooks = scrape_hooks_for(app.state.metrics_registry, resources)
            if settings.ratelimit.enabled:
                app.state.rate_limiter = RateLimiter(settings, resources.redis)
            app.state.cache = ResponseCache(settings, resources.redis if settings.cache.enabled else None)
            listener = asyncio.create_task(app.state.cache.listen(), name="cache-invalidation")
            try:
                yield
            finally:
                listener.cancel()
                # bounded: under Mangum (one lifespan per Lambda invocation) a listener cancelled
                # mid-read may never finish its cancellation, and the invocation would hang
                await asyncio.wait({listener}, timeout=LISTENER_STOP_TIMEOUT_S)
                await app.state.cache.drain(LISTENER_STOP_TIMEOUT_S)
                for collector in set(registry._collector_to_names) - before:
                    registry.unregister(collector)

    app = FastAPI(title=title, description=description, version="1", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.token_verifier = TokenVerifier(settings)
    _install_metrics(app)
    install_error_handlers(app)
    app.include_router(health_router())
    install_docs(app, title)
    for router in routers:
        app.include_router(router)
    document_routes(app)
    _install_openapi(app)
    app.add_middleware(RateLimitHeadersMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.http.max_body_bytes)
    app.add_middleware(RequestMetricsMiddleware, metrics=app.state.http_metrics)  # outermost: counts 413s too
    configure_logging(settings)
    init_error_reporting(settings)
    instrument_fastapi(app, settings)  # when tracing is on; its middleware wraps all of the above
    return app


ERROR_RESPONSES = error_responses(401, 403, 413, 422, 429)  # kept for callers of the first version
