"""Exports: ask for data as CSV (202 at once), follow its progress, get a pre-signed link, cancel.

Anyone who can read team aggregates may ask; each kind then needs the permission of the API
route that serves the same data (``KIND_PERMISSION``), checked here and again when the export
runs. An export is visible only to its requester (admins see every export).
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel

from shared.domain.exports import KIND_PERMISSION, LINK_MAX_EXPIRY_S, ExportRequest, link_expiry
from shared.domain.roles import Role
from shared.platform.auth import Permission, Principal, require
from shared.platform.errors import ApiError, workflow_service_required
from shared.platform.http import error_responses, resources_of
from shared.services import audit, export_records
from shared.services.export_records import ExportRow
from shared.services.exports import issue_link, start_export

router = APIRouter(prefix="/v1/exports", tags=["exports"])

ExportId = Annotated[str, Path(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]


class ExportOut(BaseModel):
    id: str
    kind: str
    params: dict[str, Any]
    gzip: bool
    status: str
    rows: int
    bytes: int
    total_rows: int | None
    percent: float | None
    error: str | None
    created_at: datetime
    completed_at: datetime | None
    delete_after: datetime | None
    status_url: str
    link_url: str


class LinkOut(BaseModel):
    url: str
    expires_at: datetime
    expires_in_s: int


def _out(e: ExportRow) -> ExportOut:
    url = f"/v1/exports/{e.id}"
    return ExportOut(**asdict(e), gzip=e.compress, percent=e.percent, status_url=url, link_url=f"{url}/link")


async def _own(request: Request, principal: Principal, export_id: str) -> ExportRow:
    """The export if the caller asked for it (or is an admin); otherwise 404, never 403."""
    export = await export_records.get(resources_of(request), export_id)
    if export is None or (export.requested_by != principal.subject and Role.ADMIN not in principal.roles):
        raise ApiError(404, "not_found", "no such export")
    return export


@router.post("", status_code=202, response_model=ExportOut, responses=error_responses(503))
async def create_export(
    body: ExportRequest,
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.READ_TEAM_AGGREGATES))],
) -> ExportOut:
    """Start an export; answers at once with its id (the CSV is written by a workflow)."""
    needed = Permission(KIND_PERMISSION[body.kind])
    if not principal.can(needed):
        raise ApiError(403, "forbidden", f"exporting {body.kind.value} needs the permission {needed.value}")
    with workflow_service_required():
        export = await start_export(
            resources_of(request), body, principal.subject, sorted(r.value for r in principal.roles)
        )
    return _out(export)


@router.get("", response_model=list[ExportOut])
async def list_exports(
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.READ_TEAM_AGGREGATES))],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[ExportOut]:
    """The caller's exports, newest first (an admin's list holds everyone's)."""
    who = None if Role.ADMIN in principal.roles else principal.subject
    return [_out(e) for e in await export_records.listed(resources_of(request), who, limit)]


@router.get("/{export_id}", response_model=ExportOut, responses=error_responses(404))
async def get_export(
    export_id: ExportId,
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.READ_TEAM_AGGREGATES))],
) -> ExportOut:
    """Status and progress (rows, bytes, percent)."""
    return _out(await _own(request, principal, export_id))


@router.post("/{export_id}/link", response_model=LinkOut, responses=error_responses(404, 409))
async def export_link(
    export_id: ExportId,
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.READ_TEAM_AGGREGATES))],
    expires_in_s: Annotated[int | None, Query(ge=1, le=LINK_MAX_EXPIRY_S)] = None,
) -> LinkOut:
    """A fresh pre-signed download link (default 1 h, at most 24 h), while the object exists."""
    res = resources_of(request)
    export = await _own(request, principal, export_id)
    if export.status != "succeeded" or export.deleted_at is not None:
        raise ApiError(409, "conflict", f"the export is {export.status}; no file to link to")
    seconds = link_expiry(expires_in_s, res.settings.exports.link_default_s)
    url, expires_at = await asyncio.to_thread(issue_link, res, export, seconds)
    await audit.record(
        res.pg,
        res.settings.audit.key,
        event="export.link_issued",
        actor=principal.subject,
        subject=f"export:{export.id}",
        details={"expires_at": expires_at.isoformat(), "expires_in_s": seconds},
    )
    return LinkOut(url=url, expires_at=expires_at, expires_in_s=seconds)


@router.post("/{export_id}/cancel", status_code=202, response_model=ExportOut, responses=error_responses(404, 409))
async def cancel_export(
    export_id: ExportId,
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.READ_TEAM_AGGREGATES))],
) -> ExportOut:
    """Cancel a queued or running export (its partial upload is aborted)."""
    res = resources_of(request)
    export = await _own(request, principal, export_id)
    if export.status not in ("queued", "running"):
        raise ApiError(409, "conflict", f"the export is already {export.status}")
    return _out(await export_records.cancel(res, export, principal.subject))
