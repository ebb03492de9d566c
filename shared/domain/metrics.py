"""Network metric definitions: what each per-employee figure means, computed without any driver.

Every definition is written out in docs/metrics.md; the short version:

- The graph is directed: a tie ``a -> b`` carries the total weight of interactions a initiated
  towards b (from the ledger). Self-ties are ignored everywhere (writing to yourself is not
  collaboration).
- Degree: ``degree_out``/``degree_in`` = number of distinct people a person has a tie to/from;
  ``weighted_out``/``weighted_in`` = sum of those ties' weights.
- Betweenness: directed, unweighted (hop-count shortest paths), Brandes; normalised by
  ``(n-1)(n-2)`` (the share of ordered pairs of other people whose shortest paths run through
  the person, like networkx ``normalized=True`` on a directed graph). Exact up to
  ``exact_max_nodes`` people; above, estimated from a seeded uniform sample of pivot sources
  scaled by ``n/k`` (Brandes & Pich 2007), unbiased, error measured in docs/metrics.md.
- Clustering: local clustering coefficient on the undirected simple graph (direction dropped,
  mutual ties collapsed); people with fewer than two neighbours get 0 (networkx's convention,
  which matches SNAP's published averages).
- Organisational measures: structural ones on the current graph (cross-team ratio, network
  size, strong and diverse ties); time-based ones over the last ``window_days`` of the ledger
  (after-hours share, meeting hours).

The module is pure: the compute adapter (igraph) and the stores feed it plain values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel, create_model

ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True)
class Metric:
    """One per-person network metric: its name (the column in every history table, the field of
    :class:`EmployeeMetrics`), its type and meaning. Response models, history points, rollup SQL
    and exports are all built from :data:`METRICS`, so a new metric is one entry here plus its
    computation (a field of EmployeeMetrics filled by :func:`assemble`) and a migration adding
    its columns (docs/architecture.md, "To add a metric")."""

    name: str
    kind: type[int] | type[float]
    description: str
    nullable: bool = False  # None when undefined for the person (no team, no events in the window)
    materialised: bool = True  # written on the person's graph node by the refresh (degree: the ingest path)


METRICS: tuple[Metric, ...] = (
    Metric("degree_in", int, "distinct people with a tie to the person", materialised=False),
    Metric("degree_out", int, "distinct people the person has a tie to", materialised=False),
    Metric("weighted_in", float, "total weight of the ties to the person", materialised=False),
    Metric("weighted_out", float, "total weight of the person's ties to others", materialised=False),
    Metric("betweenness", float, "share of other people's shortest paths through the person"),
    Metric("clustering", float, "local clustering coefficient (undirected)"),
    Metric("cross_team_ratio", float, "share of neighbours in another team", nullable=True),
    Metric("after_hours_share", float, "share of the window's interactions outside working hours", nullable=True),
    Metric("meeting_hours", float, "hours in meetings over the window"),
    Metric("network_size", int, "distinct people with a tie in either direction"),
    Metric("strong_ties", int, "reciprocated ties of at least the strong-tie weight"),
    Metric("diverse_ties", int, "distinct other teams among the neighbours"),
)
# numeric metric columns (what rollups average and the history API serves), in table order
NUMERIC_METRICS: tuple[str, ...] = tuple(m.name for m in METRICS)
NULLABLE_METRICS: tuple[str, ...] = tuple(m.name for m in METRICS if m.nullable)  # rollups count their values
INTEGER_METRICS: frozenset[str] = frozenset(m.name for m in METRICS if m.kind is int)
# the exact column order of the employee_metrics time-series table
HISTORY_COLUMNS: tuple[str, ...] = ("time", "employee", "team", *NUMERIC_METRICS)
# node properties the refresh materialises on the graph (degree is owned by the ingest path)
MATERIALISED_PROPERTIES: tuple[str, ...] = (
    *(m.name for m in METRICS if m.materialised),
    "metrics_at",
    "metrics_run",
)


def metric_model(
    name: str,
    base: type[ModelT],
    metrics: Iterable[Metric] = METRICS,
    *,
    as_float: bool = False,
    required: bool = False,
) -> type[ModelT]:
    """``base`` plus one field per metric (pydantic's ``create_model``): a new metric is one edit to the list.

    Optional with a None default unless ``required`` (rows that hold every metric: the metric's
    own type, None only where the metric is nullable); ``as_float`` for means over several
    samples (history points), which are floats whatever the metric's type.
    """
    fields: dict[str, tuple[Any, Any]]
    if required:
        fields = {m.name: (m.kind | None if m.nullable else m.kind, ...) for m in metrics}
    else:
        fields = {m.name: ((float if as_float else m.kind) | None, None) for m in metrics}
    return create_model(name, __base__=base, **fields)  # type: ignore[call-overload]


@dataclass(frozen=True)
class MetricDefinitions:
    """The tunable parts of the definitions (from settings)."""

    window_days: int = 28
    workday_start_hour: int = 8
    workday_end_hour: int = 18
    timezone: str = "UTC"
    strong_tie_min_weight: float = 2.0
    exact_max_nodes: int = 5000
    pivots: int = 4096
    seed: int = 42
    exact_budget_s: float = 0.0  # exact above exact_max_nodes when its estimated time fits this
    exact_cost_ns: float = 6.5  # measured kernel CPU cost per (person x tie) (shared.adapters.brandes)
    betweenness_workers: int = 1  # threads the exact Brandes kernel splits its sources over
    error_delta: float = 0.05  # confidence of the sampled error bound


@dataclass
class IndexedGraph:
    """A directed simple graph over people ``0..n-1``: self-ties dropped, parallel ties merged."""

    ids: list[str]
    teams: list[str | None]
    src: list[int]
    dst: list[int]
    weight: list[float]

    @property
    def n(self) -> int:
        return len(self.ids)

    @property
    def m(self) -> int:
        return len(self.src)


def index_graph(people: Iterable[tuple[str, str | None]], edges: Iterable[tuple[str, str, float]]) -> IndexedGraph:
    """Number people in id order (so pivot sampling is reproducible) and clean the ties."""
    teams: dict[str, str | None] = {}
    for pid, team in people:
        teams[pid] = team if team is not None else teams.get(pid)
    merged: dict[tuple[str, str], float] = {}
    for a, b, w in edges:
        if a == b:
            continue
        teams.setdefault(a, None)
        teams.setdefault(b, None)
        merged[(a, b)] = merged.get((a, b), 0.0) + float(w)
    ids = sorted(teams)
    index = {pid: i for i, pid in enumerate(ids)}
    src: list[int] = []
    dst: list[int] = []
    weight: list[float] = []
    for (a, b), w in merged.items():
        src.append(index[a])
        dst.append(index[b])
        weight.append(w)
    return IndexedGraph(ids=ids, teams=[teams[i] for i in ids], src=src, dst=dst, weight=weight)


@dataclass
class LocalMeasures:
    """Per-person figures that need only the person's own ties (cheap, pure Python)."""

    degree_in: list[int]
    degree_out: list[int]
    weighted_in: list[float]
    weighted_out: list[float]
    cross_team_ratio: list[float | None]
    network_size: list[int]
    strong_ties: list[int]
    diverse_ties: list[int]


def local_measures(g: IndexedGraph, strong_tie_min_weight: float) -> LocalMeasures:
    """Degree and the structural organisational measures.

    - network_size: distinct people with a tie in either direction;
    - strong_ties: reciprocated neighbours whose combined weight (both directions) is at least
      ``strong_tie_min_weight``;
    - cross_team_ratio: share of neighbours (with a known team) in another team; None when the
      person has no team or no neighbour with a known team;
    - diverse_ties: number of distinct other teams among the neighbours.
    """
    n = g.n
    deg_in = [0] * n
    deg_out = [0] * n
    w_in = [0.0] * n
    w_out = [0.0] * n
    both: list[dict[int, list[float]]] = [{} for _ in range(n)]  # neighbour -> [w_out, w_in]
    for a, b, w in zip(g.src, g.dst, g.weight, strict=True):
        deg_out[a] += 1
        deg_in[b] += 1
        w_out[a] += w
        w_in[b] += w
        both[a].setdefault(b, [0.0, 0.0])[0] += w
        both[b].setdefault(a, [0.0, 0.0])[1] += w
    cross: list[float | None] = [None] * n
    size = [0] * n
    strong = [0] * n
    diverse = [0] * n
    for i in range(n):
        nbrs = both[i]
        size[i] = len(nbrs)
        strong[i] = sum(1 for wo, wi in nbrs.values() if wo > 0 and wi > 0 and wo + wi >= strong_tie_min_weight)
        own = g.teams[i]
        known = [g.teams[j] for j in nbrs if g.teams[j] is not None]
        if own is not None:
            others = [t for t in known if t != own]
            cross[i] = len(others) / len(known) if known else None
            diverse[i] = len(set(others))
    return LocalMeasures(deg_in, deg_out, w_in, w_out, cross, size, strong, diverse)


# ---- time-based measures ------------------------------------------------------------------


def is_after_hours(when: datetime, defs: MetricDefinitions) -> bool:
    """Outside the working day in the organisation's time zone, or on a weekend.

    The SQL in the time-series adapter implements the same rule; a test keeps them in step.
    """
    local = when.astimezone(ZoneInfo(defs.timezone))
    return local.isoweekday() >= 6 or not (defs.workday_start_hour <= local.hour < defs.workday_end_hour)


@dataclass(frozen=True)
class WindowMeasures:
    """Per-person figures over the ledger window."""

    events: int
    after_hours_events: int
    meeting_seconds: float

    @property
    def after_hours_share(self) -> float | None:
        return self.after_hours_events / self.events if self.events else None

    @property
    def meeting_hours(self) -> float:
        return self.meeting_seconds / 3600.0


# ---- the assembled result -------------------------------------------------------------------


@dataclass
class EmployeeMetrics:
    """One person's figures at one refresh (a row of employee_metrics and a node's properties)."""

    employee: str
    team: str | None
    degree_in: int
    degree_out: int
    weighted_in: float
    weighted_out: float
    betweenness: float
    clustering: float
    cross_team_ratio: float | None
    after_hours_share: float | None
    meeting_hours: float
    network_size: int
    strong_ties: int
    diverse_ties: int

    def history_record(self, time: datetime) -> tuple[object, ...]:
        return (time, *(getattr(self, c) for c in HISTORY_COLUMNS[1:]))

    def node_values(self, run_id: int, at_epoch: float) -> dict[str, float | int | None]:
        values: dict[str, float | int | None] = {m.name: getattr(self, m.name) for m in METRICS if m.materialised}
        return {**values, "metrics_at": at_epoch, "metrics_run": run_id}


def assemble(
    g: IndexedGraph,
    local: LocalMeasures,
    betweenness: Sequence[float],
    clustering: Sequence[float],
    window: Mapping[str, WindowMeasures],
) -> list[EmployeeMetrics]:
    """Join the pieces per person."""
    empty = WindowMeasures(0, 0, 0.0)
    out: list[EmployeeMetrics] = []
    for i, pid in enumerate(g.ids):
        w = window.get(pid, empty)
        out.append(
            EmployeeMetrics(
                employee=pid,
                team=g.teams[i],
                degree_in=local.degree_in[i],
                degree_out=local.degree_out[i],
                weighted_in=local.weighted_in[i],
                weighted_out=local.weighted_out[i],
                betweenness=float(betweenness[i]),
                clustering=float(clustering[i]),
                cross_team_ratio=local.cross_team_ratio[i],
                after_hours_share=w.after_hours_share,
                meeting_hours=w.meeting_hours,
                network_size=local.network_size[i],
                strong_ties=local.strong_ties[i],
                diverse_ties=local.diverse_ties[i],
            )
        )
    return out


# ---- refresh policy -----------------------------------------------------------------------


@dataclass(frozen=True)
class RunRecord:
    """One refresh attempt as the runs table keeps it (skipped ones included) and the API lists it."""

    run_id: int
    trigger: str
    status: str
    skipped_reason: str | None
    started_at: datetime
    finished_at: datetime | None
    people: int | None
    ties: int | None
    mode: str | None
    pivots: int | None
    duration_ms: float | None
    error: str | None


@dataclass(frozen=True)
class LastRun:
    fingerprint: str
    finished_epoch: float


def skip_reason(fingerprint: str, last: LastRun | None, now_epoch: float, max_age_s: float) -> str | None:
    """Why a refresh may be skipped, or None to run it.

    Skip only when the graph is unchanged since the last successful refresh AND that refresh is
    younger than ``max_age_s`` (the 28-day window slides even when nothing new arrives).
    """
    if last is None:
        return None
    if fingerprint != last.fingerprint:
        return None
    if now_epoch - last.finished_epoch >= max_age_s:
        return None
    return "unchanged since the last refresh"
