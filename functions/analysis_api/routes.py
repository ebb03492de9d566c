"""Causal analysis API: outcome data in (JSON or CSV), analyses started as durable workflows,
their progress and results out.

Outcome ids are pseudonymised before storage. A spec that does not fit the data (unknown
column, constant treatment, too few rows) is a 422 naming the field and the reason.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError

from shared.domain.analysis import AnalysisSpec, AnalysisSpecBody, SpecProblem
from shared.domain.causal_verdict import AnalysisResult
from shared.domain.outcomes import AttributeBatch, CsvProblem, OutcomeBatch, parse_outcomes_csv
from shared.platform.auth import Permission, Principal, require
from shared.platform.errors import ApiError
from shared.platform.http import resources_of
from shared.services import analysis_records
from shared.services.analysis_records import AnalysisRow
from shared.services.causal_analysis import start_analysis, store_attributes, store_outcomes

router = APIRouter(prefix="/v1", tags=["causal"])

Status = Literal["queued", "running", "succeeded", "failed", "cancelled"]


class Accepted(BaseModel):
    accepted: int


class AnalysisStarted(BaseModel):
    id: str
    status: Status
    rows: int = Field(description="complete person-period rows the analysis will use")
    status_url: str
    result_url: str


class AnalysisStatus(BaseModel):
    id: str
    status: Status
    progress: dict[str, Any]
    spec: dict[str, Any]
    error: str | None
    attempts: int
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None


class AnalysisResultOut(BaseModel):
    id: str
    result: AnalysisResult
    provenance: dict[str, Any]


class AnalysisList(BaseModel):
    items: list[AnalysisStatus]


def _problem(exc: SpecProblem) -> ApiError:
    return ApiError(422, "validation_error", exc.reason, [{"field": exc.field, "problem": exc.reason}])


def _status(row: Any) -> AnalysisStatus:
    return AnalysisStatus.model_validate(row, from_attributes=True)


@router.post("/outcomes", response_model=Accepted, summary="Store outcome values per person and period")
async def post_outcomes(
    batch: OutcomeBatch, request: Request, _: Principal = Depends(require(Permission.WRITE_OUTCOMES))
) -> Accepted:
    n = await store_outcomes(resources_of(request), [(r, None) for r in batch.records], batch.source)
    return Accepted(accepted=n)


@router.post(
    "/outcomes/import",
    response_model=Accepted,
    summary="Import outcomes from a CSV body (text/csv): employee,period,metric,value[,source]",
    openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}, "required": True}},
)
async def import_outcomes(
    request: Request,
    source: str = Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-.:]+$"),
    _: Principal = Depends(require(Permission.WRITE_OUTCOMES)),
) -> Accepted:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in ("text/csv", "text/plain"):
        raise ApiError(415, "unsupported_media_type", "send the CSV as text/csv")
    limit = resources_of(request).settings.http.max_body_bytes
    body = await request.body()
    if len(body) > limit:
        raise ApiError(413, "payload_too_large", f"CSV larger than {limit} bytes: split it")
    try:
        records = parse_outcomes_csv(body.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise ApiError(422, "validation_error", "the CSV is not UTF-8") from exc
    except CsvProblem as exc:
        raise ApiError(422, "validation_error", str(exc), exc.details) from exc
    n = await store_outcomes(resources_of(request), records, source)
    return Accepted(accepted=n)


@router.post("/employee-attributes", response_model=Accepted, summary="Store tenure and role per person")
async def post_attributes(
    batch: AttributeBatch, request: Request, _: Principal = Depends(require(Permission.WRITE_OUTCOMES))
) -> Accepted:
    return Accepted(accepted=await store_attributes(resources_of(request), batch.records))


@router.post("/analyses", status_code=202, response_model=AnalysisStarted, summary="Start a causal analysis")
async def start(
    body: AnalysisSpecBody, request: Request, principal: Principal = Depends(require(Permission.RUN_ANALYSES))
) -> AnalysisStarted:
    """The causal graph (if any) is parsed in a worker thread, never on the event loop."""
    try:
        spec = await asyncio.to_thread(AnalysisSpec.model_validate, body.model_dump())
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from exc
    try:
        analysis_id, profile = await start_analysis(resources_of(request), spec, principal.subject)
    except SpecProblem as exc:
        raise _problem(exc) from exc
    return AnalysisStarted(
        id=analysis_id,
        status="queued",
        rows=profile.rows,
        status_url=f"/v1/analyses/{analysis_id}",
        result_url=f"/v1/analyses/{analysis_id}/result",
    )


@router.get("/analyses", response_model=AnalysisList, summary="Recent analyses, newest first")
async def list_analyses(
    request: Request,
    status: Status | None = None,
    limit: int = Query(50, ge=1, le=500),
    _: Principal = Depends(require(Permission.RUN_ANALYSES)),
) -> AnalysisList:
    rows = await analysis_records.listed(resources_of(request), limit=limit, status=status)
    return AnalysisList(items=[_status(r) for r in rows])


async def _row(request: Request, analysis_id: str) -> AnalysisRow:
    row = await analysis_records.get(resources_of(request), analysis_id)
    if row is None:
        raise ApiError(404, "not_found", "no such analysis")
    return row


@router.get("/analyses/{analysis_id}", response_model=AnalysisStatus, summary="Status and progress")
async def get_status(
    analysis_id: str, request: Request, _: Principal = Depends(require(Permission.RUN_ANALYSES))
) -> AnalysisStatus:
    row = await _row(request, analysis_id)
    out = _status(row)
    live = await analysis_records.live_progress(resources_of(request), row)
    if live is not None:  # the workflow's own view (signalled by the activity) when Temporal answers
        out.progress = {**out.progress, "workflow": live}
    return out


@router.get(
    "/analyses/{analysis_id}/result",
    response_model=AnalysisResultOut,
    summary="The result with its provenance",
    responses={409: {"description": "Not finished (or failed/cancelled)"}},
)
async def get_result(
    analysis_id: str, request: Request, _: Principal = Depends(require(Permission.RUN_ANALYSES))
) -> AnalysisResultOut:
    row = await _row(request, analysis_id)
    if row.status != "succeeded" or row.result is None:
        raise ApiError(409, "conflict", f"the analysis is {row.status}; no result")
    return AnalysisResultOut(
        id=row.id, result=AnalysisResult.model_validate(row.result), provenance=row.provenance or {}
    )


@router.post("/analyses/{analysis_id}/cancel", status_code=202, response_model=AnalysisStatus, summary="Cancel")
async def cancel(
    analysis_id: str, request: Request, principal: Principal = Depends(require(Permission.RUN_ANALYSES))
) -> AnalysisStatus:
    """An analyst may cancel the analyses they started; an admin any."""
    row = await _row(request, analysis_id)
    if row.requested_by != principal.subject and not principal.can(Permission.ADMIN_OPERATIONS):
        raise ApiError(403, "forbidden", "only the analyst who started this analysis (or an admin) can cancel it")
    if row.status in ("succeeded", "failed", "cancelled"):
        raise ApiError(409, "conflict", f"the analysis is already {row.status}")
    await analysis_records.cancel(resources_of(request), row)
    return _status(row)
