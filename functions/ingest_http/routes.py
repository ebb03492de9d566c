"""HTTP ingest: a batch of interaction events, all-or-nothing, 202 once the stream holds them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from shared.domain.events import MAX_BATCH_EVENTS, EventBatch, validation_context
from shared.platform.auth import Permission, Principal, require
from shared.platform.errors import ApiError, validation_details
from shared.platform.http import resources_of
from shared.services.graph_build import read_status, start_rebuild
from shared.services.ingest import accept_events

router = APIRouter(prefix="/v1", tags=["ingest"])


class Accepted(BaseModel):
    accepted: int
    event_ids: list[str]


def parse_batch(body: Any, retention_days: int, now: datetime | None = None) -> EventBatch:
    """Validate with the clock and retention as context; field-level 422 on any problem."""
    if not isinstance(body, dict):
        raise ApiError(
            422,
            "validation_error",
            "body must be a JSON object",
            [{"field": "body", "problem": "not an object"}],
        )
    try:
        return EventBatch.model_validate(body, context=validation_context(now or datetime.now(UTC), retention_days))
    except ValidationError as exc:
        raise ApiError(
            422, "validation_error", "batch rejected: nothing was written", validation_details(exc.errors())
        ) from exc


@router.post(
    "/events",
    status_code=202,
    response_model=Accepted,
    summary=f"Ingest a batch of up to {MAX_BATCH_EVENTS} interaction events (all or nothing)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": EventBatch.model_json_schema()}},
        }
    },
)
async def ingest_events(request: Request, _: Principal = Depends(require(Permission.INGEST_EVENTS))) -> JSONResponse:
    resources = resources_of(request)
    try:
        body = await request.json()
    except ValueError as exc:
        raise ApiError(400, "bad_request", "body is not valid JSON") from exc
    batch = parse_batch(body, resources.settings.privacy.raw_retention_days)
    ids = await accept_events(resources.settings, resources.redis, batch.events)
    return JSONResponse(Accepted(accepted=len(ids), event_ids=ids).model_dump(), status_code=202)


class GraphBuild(BaseModel):
    state: str
    done: int
    total: int
    percent: float
    eta_s: float | None = None
    workflow_id: str | None = None


@router.get("/graph/build", response_model=GraphBuild, summary="Progress of the asynchronous graph build")
async def graph_build_status(
    request: Request, _: Principal = Depends(require(Permission.READ_TEAM_AGGREGATES))
) -> GraphBuild:
    resources = resources_of(request)
    status = await read_status(resources.redis, resources.settings)
    return GraphBuild(
        state=status.state, done=status.done, total=status.total, percent=status.percent, eta_s=status.eta_s
    )


@router.post(
    "/admin/graph/rebuild",
    status_code=202,
    response_model=GraphBuild,
    summary="Rebuild the graph projection from the ledger in the background (one at a time)",
)
async def start_graph_rebuild(
    request: Request, _: Principal = Depends(require(Permission.ADMIN_OPERATIONS))
) -> JSONResponse:
    resources = resources_of(request)
    try:
        workflow_id = await start_rebuild(resources)
    except Exception as exc:
        from temporalio.service import RPCError  # loaded by the start already; not at the cold start

        if not isinstance(exc, RPCError):
            raise
        raise ApiError(
            503, "unavailable", "could not start the rebuild workflow", headers={"Retry-After": "5"}
        ) from exc
    status = await read_status(resources.redis, resources.settings)
    body = GraphBuild(
        state=status.state if status.state == "building" else "starting",
        done=status.done,
        total=status.total,
        percent=status.percent,
        eta_s=status.eta_s,
        workflow_id=workflow_id,
    )
    return JSONResponse(body.model_dump(), status_code=202)
