"""Privacy rules: pseudonymisation at the door and k-anonymity for every group view.

Raw employee identifiers never reach storage: every id is replaced by a keyed HMAC-SHA256
(``p_`` + 32 hex chars = 128 bits) before it is published to the stream. The key lives in
settings (a mounted secret in production). See docs/privacy.md for key rotation.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

PSEUDONYM_PREFIX = "p_"
PSEUDONYM_HEX_CHARS = 32


def pseudonymise(raw_id: str, key: bytes) -> str:
    """Stable pseudonym for ``raw_id`` under ``key``; irreversible without the key holder's data."""
    digest = hmac.new(key, raw_id.strip().lower().encode("utf-8"), hashlib.sha256).hexdigest()
    return PSEUDONYM_PREFIX + digest[:PSEUDONYM_HEX_CHARS]


def is_pseudonym(value: str) -> bool:
    return (
        value.startswith(PSEUDONYM_PREFIX)
        and len(value) == len(PSEUDONYM_PREFIX) + PSEUDONYM_HEX_CHARS
        and all(c in "0123456789abcdef" for c in value[len(PSEUDONYM_PREFIX) :])
    )


def group_is_reportable(size: int, min_group_size: int) -> bool:
    """One group alone, under :func:`k_anonymous_release` (views of several groups call that)."""
    return "g" in k_anonymous_release({"g": size}, min_group_size).shown


# ---- k-anonymity: the one rule for every view that shows a group ---------------------------

COUNT_BAND = 5  # member counts are shown rounded down to a multiple of this

FEWER_THAN_K = "fewer than k people"
RECENT_CHANGE = "membership changed by fewer than k people since last shown"
COMPLEMENTARY = "withheld so that withheld groups together hold 0 or at least k people"


@dataclass(frozen=True)
class Release:
    """Which groups a view may show, and why the others are withheld.

    ``shown`` maps each shown group to its exact size (for computing, never for display: show
    :func:`band_count`); ``basis`` is every size each group has been shown at, to pass back as
    ``last_shown`` next time (a series of views of the same groups).
    """

    shown: dict[str, int]
    withheld: dict[str, str]
    basis: dict[str, list[int]]
    hidden: int = 0  # people in withheld groups or in none: 0 or >= k unless nothing can be shown


def k_anonymous_release(
    sizes: Mapping[str, int], k: int, *, unassigned: int = 0, last_shown: Mapping[str, Sequence[int]] | None = None
) -> Release:
    """Apply k-anonymity to a set of groups, including against differencing.

    1. a group with fewer than ``k`` people is withheld;
    2. a group whose size differs by 0 < |difference| < k from any size it was shown at before
       is withheld (its figure minus that earlier one would single out the few who joined or
       left). Sizes only: a swap (one in, one out) is not caught without membership history;
    3. complementary suppression: if the withheld groups (plus ``unassigned`` people, in no
       group) hold 0 < n < k people, the smallest shown groups are withheld too until they hold
       at least k, so no total minus the shown groups isolates fewer than k people.

    Figures over "everyone" must then be computed over the shown groups' people only.
    """
    withheld: dict[str, str] = {}
    for group, size in sizes.items():
        before = (last_shown or {}).get(group, ())
        if size < k:
            withheld[group] = FEWER_THAN_K
        elif any(0 < abs(size - b) < k for b in before):
            withheld[group] = RECENT_CHANGE
    hidden = unassigned + sum(sizes[g] for g in withheld)
    candidates = sorted((g for g in sizes if g not in withheld), key=lambda g: (sizes[g], g))
    while 0 < hidden < k and candidates:
        group = candidates.pop(0)
        withheld[group] = COMPLEMENTARY
        hidden += sizes[group]
    shown = {g: n for g, n in sizes.items() if g not in withheld}
    basis = {g: sorted(set((last_shown or {}).get(g, ())) | ({shown[g]} if g in shown else set())) for g in sizes}
    return Release(shown, withheld, {g: b for g, b in basis.items() if b}, hidden)


class SeriesRelease:
    """The rule above applied to groups' histories, one point at a time in time order (a point
    whose size differs by 1..k-1 from any shown point of its group is withheld). Streams (exports)
    and lists (the API) both go through :meth:`view`."""

    def __init__(self, k: int) -> None:
        self._k = k
        self._shown_sizes: dict[str, list[int]] = {}

    def admit(self, group: str, size: int) -> bool:
        release = k_anonymous_release({group: size}, self._k, last_shown=self._shown_sizes)
        self._shown_sizes[group] = release.basis.get(group, [])
        return group in release.shown

    def view(self, group: str, point: Mapping[str, Any]) -> dict[str, Any] | None:
        """The point as shown (member count banded), or None when it is withheld."""
        size = int(point["members"])
        return {**point, "members": band_count(size)} if self.admit(group, size) else None


def team_series_view(team: str, points: Iterable[Mapping[str, Any]], k: int) -> list[dict[str, Any]]:
    """One team's series (time order) as a reader may see it: the points the rule shows (none under
    k people, none that differs from a shown point by 1..k-1 people), member counts banded. The
    metrics API and the web app read team series through this; exports apply the same
    :class:`SeriesRelease` row by row while they stream."""
    gate = SeriesRelease(k)
    return [view for point in points if (view := gate.view(team, point)) is not None]


def k_anonymous_series(sizes: Sequence[int], k: int) -> list[bool]:
    """Which points of one group's history may be shown (the same rule, point after point)."""
    gate = SeriesRelease(k)
    return [gate.admit("g", size) for size in sizes]


def band_count(n: int, width: int = COUNT_BAND) -> int:
    """A member count as shown: rounded down to a multiple of ``width`` (exact counts let a
    reader difference two views to single out a newcomer)."""
    return (n // width) * width


def team_views(teams: list[dict[str, Any]], min_group_size: int) -> list[dict[str, Any]]:
    """Each stored team (refresh summary, period row) as a reader may see it, through the rule
    above: withheld teams (by the refresh's release, or under a k raised since) keep only their
    name and reason; shown ones have banded member counts. The team API, the period views and
    team exports all read teams through this one function."""
    views: list[dict[str, Any]] = []
    for t in teams:
        if t["withheld"] or not group_is_reportable(t["members"], min_group_size):
            views.append({"team": t["team"], "withheld": True, "reason": t.get("reason") or FEWER_THAN_K})
        else:
            views.append(
                {"team": t["team"], "withheld": False, "members": band_count(t["members"]), "figures": t["figures"]}
            )
    return views
