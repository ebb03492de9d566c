"""Tie weighting: how much one interaction says about a working relationship.

The rules (justified in docs/metrics.md, "Tie weighting"):

- **Group size.** An interaction ties its sender (or each attendee of a meeting) to the
  ``others`` people it reached. Each ordered pair gets ``1 / others``, i.e. ``1/(n-1)`` for a
  meeting of ``n`` attendees or a message from one sender to ``n-1`` recipients. A one-to-one
  email or meeting weighs 1; the attention a person gives one interaction is shared among
  everyone in it (Newman's collaboration weighting, the convention of established
  collaboration-analytics tools).
- **Broadcasts.** A group of more than ``broadcast_min_size`` people (default 25) is a
  broadcast: an all-hands says nothing about who works with whom, so its pairs get
  ``broadcast_weight`` (default 0: no peer ties) and never count as evidence.
- **Minimum evidence.** A directed tie ``a -> b`` exists in a window only if the pair
  ``{a, b}`` had at least ``min_evidence`` (default 2) non-broadcast interactions in that
  window, in either direction: two e-mails, or one e-mail and its reply (the reciprocal case),
  or two meetings together. A meeting counts once for the pair, not once per direction.
  One stray message is not a relationship.

The ledger keeps one row per directed pair of an event; ``others`` is the number of rows an
event has for the same source (recipients of a message; attendees minus one of a meeting),
so the adapter can group rows by ``(src, dst, kind, others)`` and hand counts to
:func:`weigh_ties`. Pure: no driver, no I/O.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from shared.domain.events import StoredEvent

MEETING = "meeting"


@dataclass(frozen=True)
class TieRules:
    """The tunable parts of the weighting (from settings)."""

    broadcast_min_size: int = 25  # groups of MORE than this many people are broadcasts
    broadcast_weight: float = 0.0  # weight of each pair of a broadcast (0 = no peer ties)
    min_evidence: int = 2  # non-broadcast interactions a pair needs in a window to be a tie

    def __post_init__(self) -> None:
        if self.broadcast_min_size < 2:
            raise ValueError("broadcast_min_size must be at least 2")
        if self.broadcast_weight < 0:
            raise ValueError("broadcast_weight must be >= 0")
        if self.min_evidence < 1:
            raise ValueError("min_evidence must be at least 1")


def group_size(others: int) -> int:
    """People in the interaction: the source plus the ``others`` it reached."""
    return others + 1


def is_broadcast(others: int, rules: TieRules) -> bool:
    return group_size(others) > rules.broadcast_min_size


def pair_weight(others: int, rules: TieRules) -> float:
    """The weight one interaction adds to one ordered pair: ``1/(n-1)``, or the broadcast weight."""
    if others < 1:
        raise ValueError("an interaction reaches at least one other person")
    if is_broadcast(others, rules):
        return rules.broadcast_weight
    return 1.0 / others


@dataclass(frozen=True)
class PairCount:
    """``count`` interactions of one ``kind`` and group size that produced the ledger row ``src -> dst``."""

    src: str
    dst: str
    kind: str
    others: int
    count: int


def pair_counts(events: Iterable[StoredEvent]) -> list[PairCount]:
    """What the ledger query returns for these events (the same grouping, in memory).

    Used where events never reach the ledger (the synthetic organisation, tests).
    """
    acc: Counter[tuple[str, str, str, int]] = Counter()
    for event in events:
        ties = [(a, b) for a, b in event.ties() if a != b]
        others = Counter(a for a, _ in ties)
        for a, b in ties:
            acc[(a, b, event.kind, others[a])] += 1
    return [PairCount(a, b, kind, others, n) for (a, b, kind, others), n in sorted(acc.items())]


@dataclass(frozen=True)
class WeightedTie:
    src: str
    dst: str
    weight: float
    count: int  # interactions (any size, broadcasts included) behind this direction


@dataclass(frozen=True)
class WeighedWindow:
    """What the rules make of one window's interactions."""

    ties: list[WeightedTie]  # the ties that pass the evidence rule (weight > 0)
    people: set[str]  # everyone who took part in any interaction of the window
    dropped: int  # directed pairs with interactions but no tie (too little evidence or broadcast only)


def weigh_ties(counts: Iterable[PairCount], rules: TieRules) -> WeighedWindow:
    """Weighted directed ties of a window from its per-(pair, kind, size) interaction counts."""
    weight: dict[tuple[str, str], float] = {}
    count: dict[tuple[str, str], int] = {}
    evidence: dict[tuple[str, str], int] = {}
    people: set[str] = set()
    for c in counts:
        if c.src == c.dst or c.count <= 0:
            continue
        people.add(c.src)
        people.add(c.dst)
        key = (c.src, c.dst)
        weight[key] = weight.get(key, 0.0) + c.count * pair_weight(c.others, rules)
        count[key] = count.get(key, 0) + c.count
        if is_broadcast(c.others, rules):
            continue
        # a meeting appears as both a->b and b->a: count it once, from the smaller id's row
        if c.kind == MEETING and c.src > c.dst:
            continue
        pair = (c.src, c.dst) if c.src < c.dst else (c.dst, c.src)
        evidence[pair] = evidence.get(pair, 0) + c.count
    ties: list[WeightedTie] = []
    for (a, b), w in sorted(weight.items()):
        pair = (a, b) if a < b else (b, a)
        if w > 0 and evidence.get(pair, 0) >= rules.min_evidence:
            ties.append(WeightedTie(a, b, w, count[(a, b)]))
    return WeighedWindow(ties=ties, people=people, dropped=len(weight) - len(ties))
