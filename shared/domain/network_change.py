"""Team figures of one period's graph, and how they change from one period to the next.

Per team and period (docs/metrics.md, "Change views"):

- ``cross_team_ratio``: the members' mean person-level cross-team ratio (share of each
  member's neighbours, with a known team, that sit in another team);
- ``silo_index``: the share of the team's tie weight (ties with at least one member as an
  end, both directions) that stays inside the team; 1.0 = talks only to itself;
- ``density``: internal directed ties over the ``members x (members - 1)`` possible ones;
- ``load_index``: the members' mean weighted degree (in + out) over the organisation's mean.

Which teams get figures is decided by the project's one k-rule,
``shared.domain.privacy.k_anonymous_release`` (under k, and complementary suppression with
the people in no team); ``load_index``'s organisation mean is over the shown teams' people. Bridge
turnover compares each period's top bridges with the previous period's: who entered, who
left (pseudonymous ids; individual-level, so analyst-only on the API). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.domain.metrics import EmployeeMetrics, IndexedGraph
from shared.domain.privacy import k_anonymous_release

TEAM_FIGURES: tuple[str, ...] = ("cross_team_ratio", "silo_index", "density", "load_index")


@dataclass(frozen=True)
class TeamPeriod:
    team: str
    members: int
    withheld: bool
    figures: dict[str, float | None] = field(default_factory=dict)


def team_period_figures(g: IndexedGraph, rows: Sequence[EmployeeMetrics], min_group_size: int) -> list[TeamPeriod]:
    """One entry per team present in the period's graph; small teams withheld (no figures)."""
    members: dict[str, list[int]] = {}
    for i, team in enumerate(g.teams):
        if team is not None:
            members.setdefault(team, []).append(i)
    inside_w: dict[str, float] = {}
    touching_w: dict[str, float] = {}
    inside_ties: dict[str, int] = {}
    for a, b, w in zip(g.src, g.dst, g.weight, strict=True):
        ta, tb = g.teams[a], g.teams[b]
        for team in {ta, tb} - {None}:
            assert team is not None
            touching_w[team] = touching_w.get(team, 0.0) + w
        if ta is not None and ta == tb:
            inside_w[ta] = inside_w.get(ta, 0.0) + w
            inside_ties[ta] = inside_ties.get(ta, 0) + 1
    by_person = {r.employee: r for r in rows}
    release = k_anonymous_release(
        {t: len(idx) for t, idx in members.items()}, min_group_size, unassigned=sum(1 for t in g.teams if t is None)
    )
    # the organisation's mean over shown teams only: withheld people must not be recoverable from it
    loads = [r.weighted_in + r.weighted_out for r in rows if r.team in release.shown]
    org_load = sum(loads) / len(loads) if loads else 0.0
    out: list[TeamPeriod] = []
    for team in sorted(members):
        idx = members[team]
        size = len(idx)
        if team in release.withheld:
            out.append(TeamPeriod(team, size, True))
            continue
        people = [by_person[g.ids[i]] for i in idx]
        ratios = [p.cross_team_ratio for p in people if p.cross_team_ratio is not None]
        load = sum(p.weighted_in + p.weighted_out for p in people) / size
        touching = touching_w.get(team, 0.0)
        figures: dict[str, float | None] = {
            "cross_team_ratio": sum(ratios) / len(ratios) if ratios else None,
            "silo_index": inside_w.get(team, 0.0) / touching if touching else None,
            "density": inside_ties.get(team, 0) / (size * (size - 1)),
            "load_index": load / org_load if org_load else None,
        }
        out.append(TeamPeriod(team, size, False, figures))
    return out


def changes(series: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add ``change_<figure>`` (this period minus the previous one) to a period-ordered series.

    A change is null when either side is missing or withheld: a difference between a shown and
    a withheld period could reveal the withheld one.
    """
    out: list[dict[str, Any]] = []
    prev: dict[str, Any] | None = None
    for point in series:
        row = dict(point)
        for name in TEAM_FIGURES:
            now, before = point.get(name), (prev or {}).get(name)
            row["change_" + name] = (
                float(now) - float(before) if isinstance(now, int | float) and isinstance(before, int | float) else None
            )
        out.append(row)
        prev = point
    return out


@dataclass(frozen=True)
class BridgeTurnover:
    entered: list[str]
    left: list[str]
    stayed: int

    @property
    def turnover(self) -> float:
        """Share of the current top bridges that were not top bridges in the previous period."""
        now = len(self.entered) + self.stayed
        return len(self.entered) / now if now else 0.0


def bridge_turnover(previous_top: Sequence[str], current_top: Sequence[str]) -> BridgeTurnover:
    before, now = set(previous_top), set(current_top)
    return BridgeTurnover(
        entered=[p for p in current_top if p not in before],
        left=[p for p in previous_top if p not in now],
        stayed=len(before & now),
    )
