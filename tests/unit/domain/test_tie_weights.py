"""Tie weighting (shared/domain/tie_weights.py) against the rule's exact figures, and the
periods arithmetic (shared/domain/periods.py)."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

import pytest

from shared.adapters.igraph_compute import clustering_undirected, to_igraph
from shared.domain.events import StoredEvent
from shared.domain.metrics import IndexedGraph, index_graph, local_measures
from shared.domain.periods import closed_periods, period_at, period_of, previous, rolling_window
from shared.domain.tie_weights import TieRules, pair_counts, pair_weight, weigh_ties

PEOPLE = [f"p{i:02d}" for i in range(50)]
_seq = iter(range(10**9))


def event(kind: str, actor: str, *participants: str) -> StoredEvent:
    return StoredEvent.model_construct(
        schema_version=1,
        event_id=f"e{next(_seq)}",
        kind=kind,
        actor=actor,
        participants=list(participants),
        occurred_at=0.0,
        duration_s=3600 if kind == "meeting" else None,
        teams=None,
    )


def graph(events: list[StoredEvent], rules: TieRules) -> IndexedGraph:
    weighed = weigh_ties(pair_counts(events), rules)
    return index_graph(
        ((p, None) for p in sorted(weighed.people | set(PEOPLE))), ((t.src, t.dst, t.weight) for t in weighed.ties)
    )


def figures(g: IndexedGraph) -> tuple[list[int], list[float], list[float]]:
    local = local_measures(g, 2.0)
    return local.degree_out, local.weighted_out, clustering_undirected(to_igraph(g))


def ring() -> list[StoredEvent]:
    """Each neighbour pair of a 50-person ring exchanges one e-mail each way (reciprocal: a tie)."""
    out = []
    for i in range(50):
        a, b = PEOPLE[i], PEOPLE[(i + 1) % 50]
        out += [event("email", a, b), event("email", b, a)]
    return out


def test_pair_weight_is_one_over_group_minus_one() -> None:
    rules = TieRules()
    assert pair_weight(1, rules) == 1.0  # one-to-one
    assert pair_weight(2, rules) == 0.5  # a meeting of three, or an e-mail to two
    assert pair_weight(24, rules) == 1 / 24  # 25 people: still a meeting
    assert pair_weight(25, rules) == 0.0  # 26 people: a broadcast
    assert pair_weight(25, TieRules(broadcast_weight=0.001)) == 0.001
    with pytest.raises(ValueError):
        pair_weight(0, rules)
    with pytest.raises(ValueError):
        TieRules(broadcast_min_size=1)
    with pytest.raises(ValueError):
        TieRules(min_evidence=0)


def test_message_to_many_recipients_is_shared() -> None:
    rules = TieRules(min_evidence=1)
    weighed = weigh_ties(pair_counts([event("email", "a", "b", "c", "d", "e")]), rules)
    assert {(t.src, t.dst): t.weight for t in weighed.ties} == {("a", x): 0.25 for x in "bcde"}
    many = [f"r{i}" for i in range(30)]  # 31 people: a broadcast, no ties at all
    weighed = weigh_ties(pair_counts([event("email", "a", *many)]), rules)
    assert weighed.ties == [] and weighed.dropped == 30 and len(weighed.people) == 31


def test_minimum_evidence() -> None:
    rules = TieRules()  # two interactions of the pair in the window, either direction
    one = weigh_ties(pair_counts([event("email", "a", "b")]), rules)
    assert one.ties == [] and one.dropped == 1
    reply = weigh_ties(pair_counts([event("email", "a", "b"), event("email", "b", "a")]), rules)
    assert [(t.src, t.dst, t.weight) for t in reply.ties] == [("a", "b", 1.0), ("b", "a", 1.0)]
    twice = weigh_ties(pair_counts([event("email", "a", "b"), event("chat", "a", "b")]), rules)
    assert [(t.src, t.dst, t.weight, t.count) for t in twice.ties] == [("a", "b", 2.0, 2)]
    # a meeting counts once for the pair, not once per direction
    met = weigh_ties(pair_counts([event("meeting", "a", "b", "c")]), rules)
    assert met.ties == [] and met.dropped == 6
    met_twice = weigh_ties(pair_counts([event("meeting", "a", "b", "c")] * 2), rules)
    assert len(met_twice.ties) == 6 and all(t.weight == 1.0 for t in met_twice.ties)  # 2 x 1/2
    # broadcasts are never evidence: an all-hands plus one e-mail is still one interaction
    hands = event("meeting", *PEOPLE[:30])
    mixed = weigh_ties(pair_counts([hands, event("email", PEOPLE[0], PEOPLE[1])]), rules)
    assert mixed.ties == []


def test_a_50_person_meeting_changes_degree_and_clustering_far_less_than_50_pairwise_meetings() -> None:
    rules = TieRules()
    base_deg, base_w, base_cc = figures(graph(ring(), rules))
    assert base_deg == [2] * 50 and base_w == [2.0] * 50 and base_cc == [0.0] * 50

    # one 50-person all-hands: a broadcast, so nothing changes at all
    deg, w, cc = figures(graph([*ring(), event("meeting", *PEOPLE)], rules))
    assert (deg, w, cc) == (base_deg, base_w, base_cc)

    # even if 50 people were not a broadcast, one meeting is not evidence of 1,225 new ties;
    # the existing ring ties gain exactly 1/49 per direction from it
    wide = TieRules(broadcast_min_size=60)
    deg, w, cc = figures(graph([*ring(), event("meeting", *PEOPLE)], wide))
    assert deg == base_deg and cc == base_cc
    assert all(math.isclose(x, 2.0 + 2 / 49, rel_tol=1e-12) for x in w)

    # 50 pairwise meetings (i with i+2, each held twice, weight 1 each way): degree doubles,
    # weighted degree 2 -> 6 (two partners x two meetings), clustering 0 -> 0.5
    pairwise = [event("meeting", PEOPLE[i], PEOPLE[(i + 2) % 50]) for i in range(50) for _ in range(2)]
    deg, w, cc = figures(graph([*ring(), *pairwise], rules))
    assert deg == [4] * 50 and w == [6.0] * 50 and cc == [0.5] * 50

    # what the old rule (weight 1 per pair, no broadcast, no evidence) made of the all-hands
    old = TieRules(broadcast_min_size=1000, min_evidence=1)
    old_g = graph([*ring(), *[event("meeting", *PEOPLE)]], old)
    deg, _, cc = figures(old_g)
    assert deg == [49] * 50 and cc == [1.0] * 50


def test_periods() -> None:
    wednesday = datetime(2026, 1, 7, 15, tzinfo=UTC)
    week = period_of("week", wednesday)
    assert week.start == datetime(2026, 1, 5, tzinfo=UTC) and week.days == 7 and week.label == date(2026, 1, 5)
    month = period_of("month", datetime(2026, 12, 31, 23, tzinfo=UTC))
    assert month.start == datetime(2026, 12, 1, tzinfo=UTC) and month.end == datetime(2027, 1, 1, tzinfo=UTC)
    assert previous("week", week).start == datetime(2025, 12, 29, tzinfo=UTC)
    weeks = list(closed_periods("week", datetime(2026, 1, 7, tzinfo=UTC), datetime(2026, 1, 26, 1, tzinfo=UTC)))
    assert [p.label for p in weeks] == [date(2026, 1, 5), date(2026, 1, 12), date(2026, 1, 19)]
    assert list(closed_periods("week", wednesday, wednesday)) == []  # the current week is open
    window = rolling_window(wednesday, 28)
    assert window.days == 28 and window.end == wednesday
    assert period_at("week", date(2026, 1, 5)) == week
    with pytest.raises(ValueError):
        period_at("week", date(2026, 1, 6))  # a Tuesday starts no week
    with pytest.raises(ValueError):
        rolling_window(wednesday, 0)
