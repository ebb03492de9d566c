"""The HTTP function shape: one factory builds every FastAPI app the same way.

Each app gets the error shape, its resources opened in the lifespan (only those it needs),
a token verifier, ``/health/live`` (touches nothing) and ``/health/ready`` (checks each
dependency with a real request), and ``/metrics`` for Prometheus.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response

from shared.platform.errors import ErrorResponse, install_error_handlers
from shared.platform.resources import Needs, Resources, open_resources
from shared.platform.settings import Settings, load_settings
from shared.platform.tokens import TokenVerifier

ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorResponse, "description": text}
    for status, text in (
        (401, "Missing or invalid bearer token"),
        (403, "The caller's role lacks the permission"),
        (413, "Request body too large"),
        (422, "Validation failed"),
        (429, "Rate limited"),
    )
}


def resources_of(request: Request) -> Resources:
    """The process's resources, injected into route handlers."""
    return request.app.state.resources  # type: ignore[no-any-return]


def health_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/health/live", summary="Liveness: the process answers; touches no dependency")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/health/ready",
        summary="Readiness: every dependency answers a real request",
        responses={503: {"description": "A dependency is down"}},
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

        registry = request.app.state.metrics_registry
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return router


def create_app(
    *,
    title: str,
    needs: Needs,
    routers: Sequence[APIRouter],
    settings: Settings | None = None,
    description: str = "",
) -> FastAPI:
    """Build an HTTP function. Nothing connects until the lifespan starts."""
    from shared.platform.observability import PoolCollector, new_registry

    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_resources(settings, needs) as resources:
            app.state.resources = resources
            app.state.metrics_registry.register(PoolCollector(resources))
            yield

    app = FastAPI(title=title, description=description, version="1", lifespan=lifespan, responses=ERROR_RESPONSES)
    app.state.settings = settings
    app.state.token_verifier = TokenVerifier(settings)
    app.state.metrics_registry = new_registry()
    install_error_handlers(app)
    app.include_router(health_router())
    for router in routers:
        app.include_router(router)
    return app
