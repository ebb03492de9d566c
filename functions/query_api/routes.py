"""The graph read paths of earlier releases, now served by the metrics API (one set of reads).

Each old path answers ``308 Permanent Redirect`` to its replacement for one release, keeping the
query string. The redirect itself still demands the permission the old path had (401 for an
anonymous caller, 403 for a viewer, before any redirect), and so does the replacement. Removed in
the release after (docs/api.md, "Moved endpoints").
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import RedirectResponse

from shared.platform.auth import Permission, Principal, require

router = APIRouter(prefix="/v1", tags=["graph"])

PersonId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_\-:.]+$")]


def moved_to(request: Request, target: str) -> RedirectResponse:
    """308 (the method and body are kept) to ``target`` with the request's query string."""
    location = f"{target}?{request.url.query}" if request.url.query else target
    return RedirectResponse(
        location,
        status_code=308,
        headers={"Deprecation": "true", "Link": f'<{target}>; rel="successor-version"'},
    )


@router.get("/graph/stats", status_code=308, deprecated=True, response_class=RedirectResponse)
async def graph_stats(
    request: Request, _: Principal = Depends(require(Permission.READ_INDIVIDUAL_METRICS))
) -> RedirectResponse:
    """Moved to ``GET /v1/metrics/graph/live`` (same body, same analyst permission)."""
    return moved_to(request, "/v1/metrics/graph/live")


@router.get("/employees/{person_id}/metrics", status_code=308, deprecated=True, response_class=RedirectResponse)
async def employee_metrics(
    person_id: PersonId, request: Request, _: Principal = Depends(require(Permission.READ_INDIVIDUAL_METRICS))
) -> RedirectResponse:
    """Moved to ``GET /v1/metrics/employees/{id}`` (typed fields instead of a ``metrics`` map)."""
    return moved_to(request, f"/v1/metrics/employees/{person_id}")
