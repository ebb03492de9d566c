"""Team and organisation summaries of one refresh, through the k-anonymity release: what the read
side serves (computed at refresh, never on a request)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from shared.domain.metrics import NUMERIC_METRICS, EmployeeMetrics, IndexedGraph
from shared.domain.privacy import Release, k_anonymous_release


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
