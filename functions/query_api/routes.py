"""Read side over materialised values: graph stats and individual employee metrics."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel

from shared.platform.auth import Permission, Principal, require
from shared.platform.caching import cached
from shared.platform.errors import ApiError
from shared.platform.graph_ready import require_graph_ready
from shared.platform.http import error_responses, resources_of

# the graph-build state is read only after authentication (a parameter after the principal):
# an anonymous caller learns nothing about the build
router = APIRouter(prefix="/v1", tags=["graph"])

PersonId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_\-:.]+$")]


class GraphStats(BaseModel):
    people: int
    ties: int
    total_weight: float


class EmployeeMetrics(BaseModel):
    id: str
    metrics: dict[str, Any]


@router.get("/graph/stats", response_model=GraphStats)
@cached("graph")
async def graph_stats(
    request: Request,
    _: Principal = Depends(require(Permission.READ_INDIVIDUAL_METRICS)),
    __: None = Depends(require_graph_ready),
) -> GraphStats:
    """Live counts over everyone, small teams included: an analyst view (k-anonymity cannot hold
    for a total over everyone; viewers get /v1/metrics/graph, over the shown teams only)."""
    counts = await resources_of(request).graph.counts()
    return GraphStats(people=counts.people, ties=counts.ties, total_weight=counts.total_weight)


@router.get("/employees/{person_id}/metrics", response_model=EmployeeMetrics, responses=error_responses(404))
@cached("metrics")
async def employee_metrics(
    person_id: PersonId,
    request: Request,
    _: Principal = Depends(require(Permission.READ_INDIVIDUAL_METRICS)),
    __: None = Depends(require_graph_ready),
) -> EmployeeMetrics:
    props = await resources_of(request).graph.get_person(person_id)
    if props is None:
        raise ApiError(404, "not_found", "no such employee")
    props.pop("id", None)
    return EmployeeMetrics(id=person_id, metrics=props)
