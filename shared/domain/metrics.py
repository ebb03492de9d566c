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

import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from shared.domain.privacy import Release, k_anonymous_release

# the exact column order of the employee_metrics time-series table (after `time`)
HISTORY_COLUMNS: tuple[str, ...] = (
    "time",
    "employee",
    "team",
    "degree_in",
    "degree_out",
    "weighted_in",
    "weighted_out",
    "betweenness",
    "clustering",
    "cross_team_ratio",
    "after_hours_share",
    "meeting_hours",
    "network_size",
    "strong_ties",
    "diverse_ties",
)
# numeric metric columns (what rollups average and the history API serves)
NUMERIC_METRICS: tuple[str, ...] = HISTORY_COLUMNS[3:]
# node properties the refresh materialises on the graph (degree is owned by the ingest path)
MATERIALISED_PROPERTIES: tuple[str, ...] = (
    "betweenness",
    "clustering",
    "cross_team_ratio",
    "after_hours_share",
    "meeting_hours",
    "network_size",
    "strong_ties",
    "diverse_ties",
    "metrics_at",
    "metrics_run",
)


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
    exact_cost_ns: float = 12.7  # measured igraph cost per (person x tie) on one core, shared machine
    betweenness_workers: int = 1  # processes the Brandes sources are split over
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


# ---- betweenness: exact vs sampled -------------------------------------------------------


@dataclass(frozen=True)
class BetweennessPlan:
    """How betweenness will be computed for a graph of n people.

    ``epsilon``/``delta``: for a sampled plan, the guarantee that with probability at least
    ``1 - delta`` every person's normalised estimate is within ``epsilon`` of the exact value
    (:func:`sampling_error_bound`); 0/0 for an exact plan.
    """

    mode: str  # "exact" | "sampled"
    sources: tuple[int, ...] | None  # None = every person
    scale: float  # multiply the source-restricted sums by this
    epsilon: float = 0.0
    delta: float = 0.0

    @property
    def pivots(self) -> int | None:
        return None if self.sources is None else len(self.sources)

    def error_bound(self) -> dict[str, float | str]:
        """What every refresh reports next to its figures (docs/metrics.md)."""
        if self.mode == "exact":
            return {"mode": "exact", "epsilon": 0.0, "delta": 0.0}
        return {"mode": self.mode, "epsilon": self.epsilon, "delta": self.delta, "pivots": float(self.pivots or 0)}


def sampling_error_bound(n: int, k: int, delta: float) -> float:
    """epsilon such that P(any person's estimate is off by more than epsilon) <= delta.

    Each pivot s contributes X_s = n * dep_s(v) / ((n-1)(n-2)) to the normalised estimate of v,
    with dep_s(v) in [0, n-2], so X_s lies in [0, n/(n-1)]. The estimate is the mean of k such
    draws without replacement, whose expectation is the exact value; Hoeffding's inequality
    (which holds for sampling without replacement) and a union bound over the n people give
    epsilon = R * sqrt(ln(2n/delta) / (2k)), R = n/(n-1). A guarantee, hence conservative: the
    measured errors (docs/metrics.md) are about ten times smaller.
    """
    if k <= 0 or n < 3:
        return 0.0
    if k >= n:
        return 0.0
    spread = n / (n - 1)
    return spread * math.sqrt(math.log(2 * n / delta) / (2 * k))


def exact_fits_budget(n: int, m: int, capacity: float, budget_s: float, cost_ns: float) -> bool:
    """Does exact Brandes (cost ~ n*m) fit ``budget_s`` on ``capacity`` cores' worth of CPU?

    ``cost_ns`` is the measured nanoseconds per (person x tie) on one core (igraph, unweighted
    directed: email-Enron 172 s for 36,691 x 367,660 on this shared machine, i.e. ~12.7 ns; the
    issue's uncontended 83 s is ~6.2 ns). ``capacity`` is what the
    workers will actually get (:func:`available_capacity`), not the core count.
    """
    if budget_s <= 0 or capacity <= 0:
        return False
    return n * m * cost_ns * 1e-9 / capacity <= budget_s


def available_capacity(workers: int, cores: int, load_average: float) -> float:
    """Cores' worth of CPU ``workers`` processes can expect: their count, capped by the cores,
    shrunk by the machine's load (a load of 14 on 2 cores leaves each runnable process a
    seventh of a core: measured here, exact Enron took 1,330 s instead of ~45 s)."""
    usable = float(min(max(1, workers), max(1, cores)))
    if load_average <= cores:
        return usable
    return usable * cores / load_average


def plan_betweenness(
    n: int,
    exact_max_nodes: int,
    pivots: int,
    seed: int,
    *,
    m: int = 0,
    capacity: float = 1.0,
    exact_budget_s: float = 0.0,
    cost_ns: float = 12.7,
    delta: float = 0.05,
) -> BetweennessPlan:
    """Exact up to ``exact_max_nodes`` or whenever it fits the budget on the available capacity;
    otherwise ``pivots`` seeded uniform sources, scaled n/k, with its (epsilon, delta) bound."""
    if n <= exact_max_nodes or pivots >= n or exact_fits_budget(n, m, capacity, exact_budget_s, cost_ns):
        return BetweennessPlan("exact", None, 1.0)
    rng = random.Random(seed)
    sources = tuple(sorted(rng.sample(range(n), pivots)))
    return BetweennessPlan("sampled", sources, n / pivots, sampling_error_bound(n, pivots, delta), delta)


def normalise_betweenness(raw: Sequence[float], n: int, scale: float = 1.0) -> list[float]:
    """Directed normalisation: divide by the (n-1)(n-2) ordered pairs of other people."""
    denom = (n - 1) * (n - 2)
    if denom <= 0:
        return [0.0] * len(raw)
    factor = scale / denom
    return [v * factor for v in raw]


@dataclass(frozen=True)
class SampleError:
    """How far a sampled estimate is from the exact values (all on normalised betweenness)."""

    max_abs: float
    mean_abs: float
    max_abs_relative_to_max: float  # max_abs / max exact value
    top10_overlap: float
    top50_overlap: float
    spearman_top100: float  # rank correlation over the exact top 100


def _ranks(values: Sequence[float]) -> list[float]:
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2.0
        i = j + 1
    return ranks


def sample_error(exact: Sequence[float], estimate: Sequence[float]) -> SampleError:
    """Compare a sampled estimate to the exact values."""
    diffs = [abs(a - b) for a, b in zip(exact, estimate, strict=True)]
    top_exact = sorted(range(len(exact)), key=lambda i: -exact[i])
    top_est = sorted(range(len(estimate)), key=lambda i: -estimate[i])

    def overlap(k: int) -> float:
        k = min(k, len(exact))
        return len(set(top_exact[:k]) & set(top_est[:k])) / k if k else 1.0

    top = top_exact[:100]
    ra, rb = _ranks([exact[i] for i in top]), _ranks([estimate[i] for i in top])
    ma, mb = sum(ra) / len(ra), sum(rb) / len(rb)
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb, strict=True))
    var = math.sqrt(sum((x - ma) ** 2 for x in ra) * sum((y - mb) ** 2 for y in rb))
    biggest = max(exact) if exact else 0.0
    return SampleError(
        max_abs=max(diffs, default=0.0),
        mean_abs=sum(diffs) / len(diffs) if diffs else 0.0,
        max_abs_relative_to_max=(max(diffs, default=0.0) / biggest) if biggest else 0.0,
        top10_overlap=overlap(10),
        top50_overlap=overlap(50),
        spearman_top100=cov / var if var else 1.0,
    )


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
        return {
            "betweenness": self.betweenness,
            "clustering": self.clustering,
            "cross_team_ratio": self.cross_team_ratio,
            "after_hours_share": self.after_hours_share,
            "meeting_hours": self.meeting_hours,
            "network_size": self.network_size,
            "strong_ties": self.strong_ties,
            "diverse_ties": self.diverse_ties,
            "metrics_at": at_epoch,
            "metrics_run": run_id,
        }


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


# ---- summaries (what the read side serves; computed at refresh, never on request) -----------


@dataclass(frozen=True)
class TeamSummary:
    team: str
    members: int  # exact (stored, never displayed: views show privacy.band_count(members))
    withheld: bool
    figures: dict[str, float] = field(default_factory=dict)
    reason: str | None = None  # why withheld (shared.domain.privacy)
    basis: list[int] = field(default_factory=list)  # sizes it was shown at (next refresh's ``last_shown``)


def _mean(values: Iterable[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


def team_release(
    rows: Sequence[EmployeeMetrics], k: int, last_shown: Mapping[str, Sequence[int]] | None = None
) -> Release:
    """The k-anonymity release of these people's teams (people without a team count as hidden)."""
    sizes: dict[str, int] = {}
    for r in rows:
        if r.team is not None:
            sizes[r.team] = sizes.get(r.team, 0) + 1
    unassigned = sum(1 for r in rows if r.team is None)
    return k_anonymous_release(sizes, k, unassigned=unassigned, last_shown=last_shown)


def team_summaries(
    rows: Sequence[EmployeeMetrics], min_group_size: int, last_shown: Mapping[str, Sequence[int]] | None = None
) -> list[TeamSummary]:
    """Per-team means for the teams the k-anonymity release shows; the others get no figures.

    ``load_index`` = the team's mean weighted degree (in + out) over the mean of everyone in a
    shown team (never over withheld people, so no organisation figure minus the shown teams
    reveals them): 1.0 is an average team, 2.0 carries twice the interaction volume per person.
    "Most overloaded" ranks teams by it.
    """
    release = team_release(rows, min_group_size, last_shown)
    by_team: dict[str, list[EmployeeMetrics]] = {}
    for r in rows:
        if r.team is not None:
            by_team.setdefault(r.team, []).append(r)
    org_load = _mean(r.weighted_in + r.weighted_out for r in rows if r.team in release.shown) or 0.0
    out: list[TeamSummary] = []
    for team in sorted(by_team):
        members = by_team[team]
        basis = release.basis.get(team, [])
        if team in release.withheld:
            out.append(TeamSummary(team, len(members), True, reason=release.withheld[team], basis=basis))
            continue
        load = _mean(r.weighted_in + r.weighted_out for r in members) or 0.0
        figures: dict[str, float] = {"load_index": load / org_load if org_load else 0.0}
        for col in NUMERIC_METRICS:
            value = _mean(getattr(r, col) for r in members)
            if value is not None:
                figures["mean_" + col] = value
        out.append(TeamSummary(team, len(members), False, figures, basis=basis))
    return out


def most_overloaded(teams: Sequence[TeamSummary], k: int) -> list[TeamSummary]:
    shown = [t for t in teams if not t.withheld]
    return sorted(shown, key=lambda t: (-t.figures.get("load_index", 0.0), t.team))[:k]


def top_bridges(rows: Sequence[EmployeeMetrics], k: int) -> list[EmployeeMetrics]:
    """People whose removal would lengthen the most shortest paths, highest first (ties by id)."""
    return sorted(rows, key=lambda r: (-r.betweenness, r.employee))[:k]


def graph_summary(
    g: IndexedGraph, rows: Sequence[EmployeeMetrics], shown_teams: Iterable[str]
) -> dict[str, float | int]:
    """Whole-organisation figures over the people of the shown teams only (k-anonymity: a
    total that included withheld people, minus the shown teams, would reveal them)."""
    teams = set(shown_teams)
    inside = [i for i, t in enumerate(g.teams) if t in teams]
    keep = set(inside)
    ties = {(a, b): w for a, b, w in zip(g.src, g.dst, g.weight, strict=True) if a in keep and b in keep}
    kept_rows = [r for r in rows if r.team in teams]
    n, m = len(inside), len(ties)
    return {
        "people": n,
        "ties": m,
        "total_weight": sum(ties.values()),
        "density": m / (n * (n - 1)) if n > 1 else 0.0,
        "reciprocity": sum(1 for a, b in ties if (b, a) in ties) / m if m else 0.0,
        "average_clustering": _mean(r.clustering for r in kept_rows) or 0.0,
        "mean_betweenness": _mean(r.betweenness for r in kept_rows) or 0.0,
        "isolated": sum(1 for r in kept_rows if r.network_size == 0),
    }


# ---- refresh policy -----------------------------------------------------------------------


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
