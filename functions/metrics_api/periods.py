"""Read side of the networks over time (issue 13): each closed period's own figures, written
by the back-fill workflow; nothing is computed on a request beyond period-over-period
differences of stored rows.

Team figures need READ_TEAM_AGGREGATES and are withheld (no figures, no change) for periods in
which the team had fewer than ``min_group_size`` people; a change next to a withheld period is
withheld too (a difference would reveal it). Bridges and their turnover are individual-level:
READ_INDIVIDUAL_METRICS (analysts). JSON shapes: docs/metrics.md, "Change views".
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, model_validator

from shared.domain.metrics import METRICS, Metric, metric_model
from shared.domain.network_change import TEAM_FIGURES, bridge_turnover, changes
from shared.domain.periods import period_at, period_of, previous
from shared.domain.privacy import SeriesRelease, team_views
from shared.platform.auth import Permission, Principal, require
from shared.platform.errors import ApiError, workflow_service_required
from shared.platform.http import error_responses, resources_of
from shared.services import period_backfill, period_reads

router = APIRouter(tags=["metrics over time"])

PersonId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_\-:.]+$")]
TeamName = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f/]+$")]
MAX_RANGE = timedelta(days=731)
DEFAULT_RANGE = timedelta(weeks=26)


class PeriodQuery(BaseModel):
    """Periods whose first day lies in ``[start, end)``; default the last 26 weeks."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["week", "month"] = "week"
    start: date | None = None
    end: date | None = None

    @model_validator(mode="after")
    def _range(self) -> PeriodQuery:
        end = self.end or date.today() + timedelta(days=1)
        start = self.start or end - DEFAULT_RANGE
        if start >= end:
            raise ValueError("start must be before end")
        if end - start > MAX_RANGE:
            raise ValueError("range longer than 2 years")
        self.start, self.end = start, end
        return self

    def bounds(self) -> tuple[date, date]:
        assert self.start is not None and self.end is not None
        return self.start, self.end


class EmployeePeriodBase(BaseModel):
    """One person's figures in one closed period: every metric (from the metric list), added by
    :func:`employee_period_model`."""

    period_start: date
    team: str | None


def employee_period_model(metrics: Iterable[Metric] = METRICS) -> type[EmployeePeriodBase]:
    return metric_model("EmployeePeriod", EmployeePeriodBase, metrics, required=True)


EmployeePeriod = employee_period_model()


class EmployeePeriodsOut(BaseModel):
    subject: str
    kind: str
    points: list[EmployeePeriod]  # type: ignore[valid-type]


class TeamPeriodPoint(BaseModel):
    period_start: date
    withheld: bool
    members: int | None = None
    cross_team_ratio: float | None = None
    silo_index: float | None = None
    density: float | None = None
    load_index: float | None = None
    change_cross_team_ratio: float | None = None
    change_silo_index: float | None = None
    change_density: float | None = None
    change_load_index: float | None = None


class TeamPeriodsOut(BaseModel):
    team: str
    kind: str
    min_group_size: int
    points: list[TeamPeriodPoint]


class TeamChange(TeamPeriodPoint):
    team: str


class ChangesOut(BaseModel):
    kind: str
    period_start: date
    previous_start: date
    min_group_size: int
    teams: list[TeamChange]


class PeriodGraphOut(BaseModel):
    period_start: date
    period_end: date
    people: int
    ties: int
    dropped_pairs: int
    mode: str
    pivots: int | None
    epsilon: float
    delta: float


class TurnoverPoint(BaseModel):
    period_start: date
    bridges: int
    entered: list[str]
    left: list[str]
    stayed: int
    turnover: float


class TurnoverOut(BaseModel):
    kind: str
    points: list[TurnoverPoint]


class BackfillStarted(BaseModel):
    workflow_id: str


class BackfillRunOut(BaseModel):
    run_id: int
    period_kind: str
    first_start: date
    last_start: date
    total: int
    done: int
    status: str
    error: str | None


def _shown(rows: list[dict[str, Any]], k: int) -> list[dict[str, Any]]:
    """One team's periods (time order) as a reader may see them, through the project's one
    k-rule (shared/domain/privacy.py): ``team_views`` (withheld at write time, or under a k
    raised since; member counts banded) and then ``SeriesRelease`` over the series (a period
    whose size differs by 1..k-1 from a shown period's is withheld, so two periods cannot be
    differenced to single out joiners or leavers). A withheld period keeps its date and team."""
    views = team_views(
        [
            {
                "team": r.get("team"),
                "withheld": r["withheld"],
                "members": r["members"],
                "figures": {f: r[f] for f in TEAM_FIGURES},
            }
            for r in rows
        ],
        k,
    )
    gate = SeriesRelease(k)
    out = []
    for r, view in zip(rows, views, strict=True):
        point = {"period_start": r["period_start"], "team": r.get("team"), "withheld": True}
        if not view["withheld"] and gate.admit(str(r.get("team")), int(r["members"])):
            point.update(withheld=False, members=view["members"], **view["figures"])
        out.append(point)
    return out


@router.get("/employees/{person_id}/periods", response_model=EmployeePeriodsOut)
async def employee_periods(
    person_id: PersonId,
    request: Request,
    _: Annotated[Principal, Depends(require(Permission.READ_INDIVIDUAL_METRICS))],
    query: Annotated[PeriodQuery, Query()],
) -> EmployeePeriodsOut:
    """One person's metrics per closed period, each from that period's own graph."""
    start, end = query.bounds()
    rows = await period_reads.employee_periods(resources_of(request), person_id, query.kind, start, end)
    return EmployeePeriodsOut(subject=person_id, kind=query.kind, points=[EmployeePeriod(**r) for r in rows])


@router.get("/teams/{team}/periods", response_model=TeamPeriodsOut)
async def team_periods(
    team: TeamName,
    request: Request,
    _: Annotated[Principal, Depends(require(Permission.READ_TEAM_AGGREGATES))],
    query: Annotated[PeriodQuery, Query()],
) -> TeamPeriodsOut:
    """A team's figures per closed period with the change from the period before."""
    res = resources_of(request)
    k = res.settings.privacy.min_group_size
    start, end = query.bounds()
    # one period earlier, so the first point's change is known; then dropped
    first = previous(query.kind, period_of(query.kind, _at(start))).label
    stored = [{**r, "team": team} for r in await period_reads.team_periods(res, team, query.kind, first, end)]
    rows = _shown(stored, k)
    points = [p for p in changes(_contiguous(rows, query.kind)) if p["period_start"] >= start and "gap" not in p]
    return TeamPeriodsOut(team=team, kind=query.kind, min_group_size=k, points=[TeamPeriodPoint(**p) for p in points])


@router.get("/changes", response_model=ChangesOut, responses=error_responses(404))
async def team_changes(
    request: Request,
    _: Annotated[Principal, Depends(require(Permission.READ_TEAM_AGGREGATES))],
    kind: Annotated[Literal["week", "month"], Query()] = "week",
    period: Annotated[date | None, Query(description="first day of the period; default the latest")] = None,
) -> ChangesOut:
    """Every team's figures in one period and their change from the previous period."""
    res = resources_of(request)
    k = res.settings.privacy.min_group_size
    if period is None:
        period = await period_reads.latest_period(res, kind)
        if period is None:
            raise ApiError(404, "not_found", "no period has been written yet")
    try:
        current = period_at(kind, period)
    except ValueError as exc:
        raise ApiError(
            422, "validation_error", "request failed validation", [{"field": "period", "problem": str(exc)}]
        ) from exc
    before = previous(kind, current)
    now_rows, before_rows = (
        await period_reads.teams_in_period(res, kind, current.label),
        await period_reads.teams_in_period(res, kind, before.label),
    )
    if not now_rows:
        raise ApiError(404, "not_found", "no figures for that period")
    prior = {r["team"]: r for r in before_rows}
    teams: list[TeamChange] = []
    for row in now_rows:
        pair = _shown([prior[row["team"]], row], k) if row["team"] in prior else [{}, *_shown([row], k)]
        series = changes([{"period_start": before.label, **pair[0]}, pair[1]])
        teams.append(TeamChange(**series[1]))
    return ChangesOut(kind=kind, period_start=current.label, previous_start=before.label, min_group_size=k, teams=teams)


@router.get("/periods", response_model=list[PeriodGraphOut])
async def period_graphs(
    request: Request,
    _: Annotated[Principal, Depends(require(Permission.READ_TEAM_AGGREGATES))],
    query: Annotated[PeriodQuery, Query()],
) -> list[PeriodGraphOut]:
    """Each written period's graph: size, dropped pairs, betweenness mode and its error bound."""
    start, end = query.bounds()
    rows = await period_reads.period_graphs(resources_of(request), query.kind, start, end)
    return [PeriodGraphOut(**{k: v for k, v in r.items() if k != "bridges"}) for r in rows]


@router.get("/bridges/turnover", response_model=TurnoverOut)
async def turnover(
    request: Request,
    _: Annotated[Principal, Depends(require(Permission.READ_INDIVIDUAL_METRICS))],
    query: Annotated[PeriodQuery, Query()],
) -> TurnoverOut:
    """Which people entered or left the top bridges from one period to the next (pseudonymous)."""
    start, end = query.bounds()
    first = previous(query.kind, period_of(query.kind, _at(start))).label
    rows = await period_reads.period_graphs(resources_of(request), query.kind, first, end)
    points: list[TurnoverPoint] = []
    for before, now in zip(rows, rows[1:], strict=False):
        if (
            now["period_start"] < start
            or previous(query.kind, period_at(query.kind, now["period_start"])).label != before["period_start"]
        ):
            continue
        t = bridge_turnover([b["employee"] for b in before["bridges"]], [b["employee"] for b in now["bridges"]])
        points.append(
            TurnoverPoint(
                period_start=now["period_start"],
                bridges=len(now["bridges"]),
                entered=t.entered,
                left=t.left,
                stayed=t.stayed,
                turnover=t.turnover,
            )
        )
    return TurnoverOut(kind=query.kind, points=points)


@router.post("/periods/backfill", response_model=BackfillStarted, status_code=202)
async def start_backfill(
    request: Request,
    _: Annotated[Principal, Depends(require(Permission.ADMIN_OPERATIONS))],
    kind: Annotated[Literal["week", "month"], Query()] = "week",
    rewrite: Annotated[bool, Query()] = False,
) -> BackfillStarted:
    """Back-fill every closed period the retained ledger covers (a Temporal workflow)."""
    with workflow_service_required():
        workflow_id = await period_backfill.start(resources_of(request), kind, rewrite=rewrite)
    return BackfillStarted(workflow_id=workflow_id)


@router.get("/periods/backfill/runs", response_model=list[BackfillRunOut])
async def backfill_runs(
    request: Request,
    _: Annotated[Principal, Depends(require(Permission.ADMIN_OPERATIONS))],
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> list[BackfillRunOut]:
    """Back-fill runs with their progress (periods done of total)."""
    runs = await period_backfill.runs(resources_of(request), limit)
    return [BackfillRunOut(**{k: v for k, v in r.items() if k in BackfillRunOut.model_fields}) for r in runs]


def _at(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _contiguous(rows: list[dict[str, Any]], kind: Literal["week", "month"]) -> list[dict[str, Any]]:
    """Insert an empty marker where a period is missing, so no change spans a gap."""
    out: list[dict[str, Any]] = []
    for r in rows:
        if out and previous(kind, period_at(kind, r["period_start"])).label != out[-1]["period_start"]:
            out.append({"period_start": previous(kind, period_at(kind, r["period_start"])).label, "gap": True})
        out.append(r)
    return out


__all__ = ["router", "TEAM_FIGURES"]
