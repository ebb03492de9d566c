"""Erasure of one person (admin): by raw id (pseudonymised here, at the door) or by pseudonym.

202 at once; the erasure runs as a durable workflow (shared/services/erasure.py). Its status
and report carry counts only: the response never repeats whom it erased.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.domain.privacy import is_pseudonym, pseudonymise
from shared.platform.auth import Permission, Principal, require
from shared.platform.errors import ApiError, workflow_service_required
from shared.platform.http import error_responses, resources_of
from shared.services.erasure import ErasureRow, get_erasure, start_erasure

router = APIRouter(prefix="/v1/privacy", tags=["privacy"])

ErasureId = Annotated[str, Path(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]


class ErasureRequest(BaseModel):
    """Exactly one of ``raw_id`` (the source system's identifier) or ``pseudonym`` (``p_`` + 32 hex)."""

    model_config = ConfigDict(extra="forbid")
    raw_id: str | None = Field(None, min_length=1, max_length=256, pattern=r"^[^\x00-\x1f\x7f]+$")
    pseudonym: str | None = Field(None, min_length=34, max_length=34)

    @model_validator(mode="after")
    def _one(self) -> ErasureRequest:
        if (self.raw_id is None) == (self.pseudonym is None):
            raise ValueError("give exactly one of raw_id or pseudonym")
        if self.pseudonym is not None and not is_pseudonym(self.pseudonym):
            raise ValueError("pseudonym must be p_ followed by 32 lowercase hex characters")
        return self


class ErasureOut(BaseModel):
    id: str
    status: str
    created_at: datetime
    completed_at: datetime | None
    report: dict[str, Any]
    error: str | None
    status_url: str


def _out(row: ErasureRow) -> ErasureOut:
    return ErasureOut(**asdict(row), status_url=f"/v1/privacy/erasures/{row.id}")


@router.post("/erasures", status_code=202, response_model=ErasureOut, responses=error_responses(503))
async def request_erasure(
    body: ErasureRequest,
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.ADMIN_OPERATIONS))],
) -> ErasureOut:
    """Erase one person from the ledger, graph, metrics history, outcomes, attributes, caches and
    exports. Idempotent while it runs: the same person's running erasure is returned."""
    res = resources_of(request)
    person = body.pseudonym or pseudonymise(body.raw_id or "", res.settings.privacy.pseudonymisation_key)
    with workflow_service_required():
        erasure_id, _ = await start_erasure(res, person, principal.subject)
    row = await get_erasure(res, erasure_id)
    assert row is not None
    return _out(row)


@router.get("/erasures/{erasure_id}", response_model=ErasureOut, responses=error_responses(404))
async def erasure_status(
    erasure_id: ErasureId,
    request: Request,
    _: Annotated[Principal, Depends(require(Permission.ADMIN_OPERATIONS))],
) -> ErasureOut:
    """Status and the per-step report (counts only)."""
    row = await get_erasure(resources_of(request), erasure_id)
    if row is None:
        raise ApiError(404, "not_found", "no such erasure")
    return _out(row)
