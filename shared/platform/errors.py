"""One error shape for every 4xx/5xx of every HTTP function.

``{"error": {"code": str, "message": str, "details": [{"field": str, "problem": str}]}}``
Clients switch on ``code``; ``details`` names the offending fields.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.adapters.graph.base import GraphStoreError
from shared.adapters.postgres.pool import PoolExhaustedError
from shared.platform.dependency_errors import dependency_unavailable
from shared.platform.error_reporting import report_exception
from shared.platform.error_shape import ApiError, error_payload, validation_details

log = logging.getLogger(__name__)


class ErrorDetail(BaseModel):
    field: str
    problem: str


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[ErrorDetail] = []


class ErrorResponse(BaseModel):
    """The documented shape of every error response."""

    error: ErrorBody


WORKFLOW_SERVICE_UNAVAILABLE = "the workflow service is unavailable"


@contextmanager
def workflow_service_required(message: str = WORKFLOW_SERVICE_UNAVAILABLE) -> Iterator[None]:
    """Answer 503 in the error shape when starting or steering a workflow fails because Temporal is
    unreachable (the client raises RuntimeError); the caller may retry the same request."""
    try:
        yield
    except RuntimeError as exc:
        raise ApiError(503, "unavailable", message) from exc


_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    503: "unavailable",
}


def install_error_handlers(app: FastAPI) -> None:
    """Route every error through the one shape."""

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(
            error_payload(exc.code, exc.message, exc.details), status_code=exc.status, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            error_payload("validation_error", "request failed validation", validation_details(exc.errors())),
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "error")
        return JSONResponse(
            error_payload(code, str(exc.detail)),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(asyncpg.CharacterNotInRepertoireError)
    @app.exception_handler(asyncpg.UntranslatableCharacterError)
    async def _unstorable_text(_: Request, exc: Exception) -> JSONResponse:
        # safety net for a string field that is not a CleanStr: PostgreSQL text cannot hold NUL
        return JSONResponse(
            error_payload(
                "validation_error",
                "request failed validation",
                [{"field": "body", "problem": "text contains characters that cannot be stored (e.g. NUL)"}],
            ),
            status_code=422,
        )

    from redis.exceptions import RedisError

    async def _store_error(request: Request, exc: Exception) -> JSONResponse:
        report_exception(exc, request)
        if dependency_unavailable(exc):  # a store is down or unreachable: retryable, not a bug
            log.warning("dependency unavailable: %s", type(exc).__name__)
            return JSONResponse(
                error_payload("unavailable", "a dependency is unavailable; retry later"),
                status_code=503,
                headers={"Retry-After": "5"},
            )
        log.error("store error", exc_info=exc)
        return JSONResponse(error_payload("internal_error", "internal error"), status_code=500)

    for kind in (
        GraphStoreError,
        PoolExhaustedError,  # saturated, not broken (caused by a TimeoutError): 503 and Retry-After, not 500
        RedisError,
        asyncpg.PostgresConnectionError,
        asyncpg.CannotConnectNowError,
        asyncpg.exceptions.TooManyConnectionsError,
        asyncpg.InterfaceError,
        OSError,
    ):
        app.add_exception_handler(kind, _store_error)  # handled here, so not re-raised to the server

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        report_exception(exc, request)
        return JSONResponse(error_payload("internal_error", "internal error"), status_code=500)
