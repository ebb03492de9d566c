"""Read side of the network metrics: every figure served here was materialised by a refresh
(node properties, the run's summary, the history tables); nothing is computed on a request.

Individual figures need READ_INDIVIDUAL_METRICS; team figures need READ_TEAM_AGGREGATES and
go through the one k-anonymity rule (``shared.domain.privacy.k_anonymous_release``): small
teams, teams that just changed by fewer than k people and complementary cells are withheld,
member counts are banded, and organisation figures cover the shown teams' people only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from functions.metrics_api.periods import router as periods_router
from shared.domain.exports import resolve_granularity
from shared.domain.metrics import MATERIALISED_PROPERTIES, METRICS, NUMERIC_METRICS, Metric, RunRecord, metric_model
from shared.domain.privacy import COUNT_BAND, team_views
from shared.platform.auth import Permission, Principal, require
from shared.platform.caching import cached
from shared.platform.errors import ApiError, workflow_service_required
from shared.platform.graph_ready import require_graph_ready
from shared.platform.http import error_responses, resources_of
from shared.platform.resources import Resources
from shared.services import metrics_reads

router = APIRouter(prefix="/v1/metrics", tags=["metrics"])

PersonId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_\-:.]+$")]
TeamName = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f/]+$")]
MAX_HISTORY_RANGE = timedelta(days=731)  # the rollups' retention
_DEGREE_PROPERTIES = ("in_degree", "out_degree", "degree", "in_weight", "out_weight", "weighted_degree")


# ---- models -------------------------------------------------------------------------------


class EmployeeMetricsBase(BaseModel):
    """One person's figures: the degree properties the ingest path keeps on the node, then one
    field per materialised metric (added from the metric list by :func:`employee_metrics_model`)."""

    id: str
    team: str | None
    in_degree: int | None = None
    out_degree: int | None = None
    degree: int | None = None
    in_weight: float | None = None
    out_weight: float | None = None
    weighted_degree: float | None = None
    metrics_at: datetime | None = Field(None, description="when the expensive metrics were computed")
    metrics_run: int | None = None


def employee_metrics_model(metrics: Iterable[Metric] = METRICS) -> type[EmployeeMetricsBase]:
    return metric_model("EmployeeMetricsOut", EmployeeMetricsBase, (m for m in metrics if m.materialised))


EmployeeMetricsOut = employee_metrics_model()


class Bridge(BaseModel):
    employee: str
    team: str | None
    betweenness: float
    clustering: float
    cross_team_ratio: float | None
    diverse_ties: int
    network_size: int


class BridgesOut(BaseModel):
    run_id: int
    computed_at: datetime
    bridges: list[Bridge]


class TeamOut(BaseModel):
    team: str
    withheld: bool
    reason: str | None = None
    members: int | None = Field(default=None, description=f"member count rounded down to a multiple of {COUNT_BAND}")
    figures: dict[str, float] | None = None


class TeamsOut(BaseModel):
    run_id: int
    computed_at: datetime
    min_group_size: int
    teams: list[TeamOut]


class GraphStatsOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    run_id: int
    computed_at: datetime
    people: int
    ties: int
    total_weight: float
    density: float
    reciprocity: float
    average_clustering: float
    mean_betweenness: float
    isolated: int
    mode: str
    pivots: int


class LiveGraphOut(BaseModel):
    people: int
    ties: int
    total_weight: float


class HistoryQuery(BaseModel):
    """A date range and a granularity; ``auto`` picks raw (<= 2 days), hour (<= 31 days) or day."""

    model_config = ConfigDict(extra="forbid")
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None
    granularity: Literal["auto", "raw", "hour", "day"] = "auto"

    @model_validator(mode="after")
    def _range(self) -> HistoryQuery:
        end = self.end or datetime.now(UTC)
        start = self.start or end - timedelta(days=7)
        if start >= end:
            raise ValueError("start must be before end")
        if end - start > MAX_HISTORY_RANGE:
            raise ValueError("range longer than the rollups' 2-year retention")
        self.start, self.end = start, end
        return self

    def resolved(self, raw_max_days: int) -> Literal["raw", "hour", "day"]:
        assert self.start is not None and self.end is not None
        try:
            return resolve_granularity(self.granularity, self.start, self.end, raw_max_days)
        except ValueError as exc:
            raise ApiError(
                422, "validation_error", "request failed validation", [{"field": "granularity", "problem": str(exc)}]
            ) from exc


class HistoryPointBase(BaseModel):
    """A point of a series: one field per metric (means, so floats) added by :func:`history_point_model`."""

    time: datetime
    samples: int | None = Field(None, description="refreshes summarised by this point (employee series)")
    members: int | None = Field(
        default=None, description=f"people behind this point (team series), rounded down to a multiple of {COUNT_BAND}"
    )


def history_point_model(metrics: Iterable[Metric] = METRICS) -> type[HistoryPointBase]:
    return metric_model("HistoryPoint", HistoryPointBase, metrics, as_float=True)


HistoryPoint = history_point_model()


class HistoryOut(BaseModel):
    subject: str
    start: datetime
    end: datetime
    granularity: Literal["raw", "hour", "day"]
    points: list[HistoryPoint]  # type: ignore[valid-type]


class RefreshStarted(BaseModel):
    workflow_id: str
    run_id: str


# ---- helpers ------------------------------------------------------------------------------


async def _summary(request: Request) -> dict[str, Any]:
    summary = await metrics_reads.latest_summary(resources_of(request))
    if summary is None:
        raise ApiError(404, "not_found", "no metrics refresh has completed yet")
    return summary


HistoryRead = Callable[
    [Resources, str, datetime, datetime, Literal["raw", "hour", "day"]], Awaitable[list[dict[str, Any]]]
]


async def _history(request: Request, query: HistoryQuery, subject: str, read: HistoryRead) -> HistoryOut:
    """One subject's series at the granularity the range resolves to (employee and team alike)."""
    res = resources_of(request)
    gran = query.resolved(res.settings.metrics.raw_history_max_days)
    assert query.start is not None and query.end is not None
    rows = await read(res, subject, query.start, query.end, gran)
    points = [HistoryPoint(**{k: v for k, v in r.items() if k in HistoryPoint.model_fields}) for r in rows]
    return HistoryOut(subject=subject, start=query.start, end=query.end, granularity=gran, points=points)


# ---- routes -------------------------------------------------------------------------------


@router.get("/employees/{person_id}", response_model=EmployeeMetricsOut, responses=error_responses(404))
@cached("metrics")  # refresh_metrics and the ingest path invalidate "metrics:*"
async def employee_metrics(
    person_id: PersonId,
    request: Request,
    _: Annotated[Principal, Depends(require(Permission.READ_INDIVIDUAL_METRICS))],
    __: Annotated[None, Depends(require_graph_ready)],
) -> EmployeeMetricsBase:
    """One person's materialised metrics (node properties; degree from the ingest path).
    Replaces ``GET /v1/employees/{id}/metrics`` (which answers 308 here for one release)."""
    props = await metrics_reads.person(resources_of(request), person_id)
    if props is None:
        raise ApiError(404, "not_found", "no such employee")
    wanted = {k: props.get(k) for k in (*_DEGREE_PROPERTIES, *MATERIALISED_PROPERTIES)}
    at = wanted.pop("metrics_at")
    return EmployeeMetricsOut(
        id=person_id,
        team=props.get("team"),
        metrics_at=datetime.fromtimestamp(float(at), UTC) if at is not None else None,
        **{k: v for k, v in wanted.items() if v is not None},
    )


@router.get("/bridges", response_model=BridgesOut, responses=error_responses(404))
@cached("metrics")  # refresh_metrics invalidates "metrics:*"
async def top_bridges(
    request: Request,
    _: Annotated[Principal, Depends(require(Permission.READ_INDIVIDUAL_METRICS))],
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> BridgesOut:
    """People with the highest betweenness at the last refresh."""
    s = await _summary(request)
    return BridgesOut(run_id=s["run_id"], computed_at=s["computed_at"], bridges=s["bridges"][:limit])


@router.get("/teams", response_model=TeamsOut, responses=error_responses(404))
@cached("metrics")  # refresh_metrics invalidates "metrics:*"
async def team_summaries(
    request: Request,
    _: Annotated[Principal, Depends(require(Permission.READ_TEAM_AGGREGATES))],
    sort: Annotated[Literal["name", "load"], Query()] = "name",
) -> TeamsOut:
    """Per-team means at the last refresh; teams under the minimum group size are withheld."""
    s = await _summary(request)
    k = resources_of(request).settings.privacy.min_group_size
    teams = [TeamOut(**view) for view in team_views(s["teams"], k)]
    if sort == "load":
        teams.sort(key=lambda t: (t.withheld, -(t.figures or {}).get("load_index", 0.0), t.team))
    return TeamsOut(run_id=s["run_id"], computed_at=s["computed_at"], min_group_size=k, teams=teams)


@router.get("/graph", response_model=GraphStatsOut, responses=error_responses(404))
@cached("metrics")  # refresh_metrics invalidates "metrics:*"
async def graph_stats(
    request: Request, _: Annotated[Principal, Depends(require(Permission.READ_TEAM_AGGREGATES))]
) -> GraphStatsOut:
    """Whole-graph figures at the last refresh."""
    s = await _summary(request)
    return GraphStatsOut(run_id=s["run_id"], computed_at=s["computed_at"], **s["graph"])


@router.get("/graph/live", response_model=LiveGraphOut, responses=error_responses(503))
@cached("graph")  # the ingest path invalidates "graph:*" on every change
async def live_graph(
    request: Request,
    _: Annotated[Principal, Depends(require(Permission.READ_INDIVIDUAL_METRICS))],
    __: Annotated[None, Depends(require_graph_ready)],
) -> LiveGraphOut:
    """Live totals over everyone, small teams included, kept per event (not per refresh): an
    analyst view, because k-anonymity cannot hold for a total over everyone; viewers get
    ``/v1/metrics/graph``, over the shown teams only. Replaces ``GET /v1/graph/stats`` (which
    answers 308 here for one release)."""
    counts = await metrics_reads.live_counts(resources_of(request))
    return LiveGraphOut(people=counts.people, ties=counts.ties, total_weight=counts.total_weight)


@router.get("/employees/{person_id}/history", response_model=HistoryOut)
async def employee_history(
    person_id: PersonId,
    request: Request,
    _: Annotated[Principal, Depends(require(Permission.READ_INDIVIDUAL_METRICS))],
    query: Annotated[HistoryQuery, Query()],
) -> HistoryOut:
    """One person's metrics over a date range; hour/day points come from the hourly rollup."""
    return await _history(request, query, person_id, metrics_reads.employee_history)


@router.get("/teams/{team}/history", response_model=HistoryOut)
async def team_history(
    team: TeamName,
    request: Request,
    _: Annotated[Principal, Depends(require(Permission.READ_TEAM_AGGREGATES))],
    query: Annotated[HistoryQuery, Query()],
) -> HistoryOut:
    """A team's mean metrics over a date range; points with fewer than k people are left out."""
    return await _history(request, query, team, metrics_reads.team_history)


@router.post("/refresh", response_model=RefreshStarted, status_code=202)
async def trigger_refresh(
    request: Request,
    _: Annotated[Principal, Depends(require(Permission.ADMIN_OPERATIONS))],
    force: Annotated[bool, Query()] = False,
) -> RefreshStarted:
    """Start a refresh on Temporal now (attaches to one already started this way)."""
    with workflow_service_required():
        workflow_id, run_id = await metrics_reads.start_refresh(resources_of(request), force=force)
    return RefreshStarted(workflow_id=workflow_id, run_id=run_id)


@router.get("/runs", response_model=list[RunRecord])
async def refresh_runs(
    request: Request,
    _: Annotated[Principal, Depends(require(Permission.ADMIN_OPERATIONS))],
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> list[RunRecord]:
    """The latest refresh attempts, skipped ones included, with their timings."""
    runs = await metrics_reads.recent_runs(resources_of(request), limit)
    return runs


router.include_router(periods_router)  # networks over time (issue 13): functions/metrics_api/periods.py

__all__ = ["router", "NUMERIC_METRICS"]
