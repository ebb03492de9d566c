"""A seeded organisation whose collaboration network changes over time, as interaction events.

Why: the period metrics and the engines that consume them must be tested on a network that
moves, with the moment and size of the move known. Teams of ``team_size`` people; each week
every person e-mails a few teammates (twice: an e-mail and a reply), a few people in other
teams, and meets their team once (a meeting under the broadcast size); every fourth week the
whole organisation holds an all-hands (a broadcast: no peer ties under the default rules).

The planted reorganisation: the first two teams are *one team on paper* (``merged_team``,
the ledger's current label) but work as two separate groups until ``merge_week``, each
collaborating mostly outside (``cross_before`` contacts per week in other teams); from
``merge_week`` on they work as one group of twice the size with ``cross_after`` outside
contacts. The merged team's cross-team ratio therefore steps down at ``merge_week`` in the
weekly readings, while a cumulative reading only drifts. Pure: returns events and teams.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shared.domain.events import StoredEvent

FIRST_MONDAY = datetime(2026, 1, 5, tzinfo=UTC)


@dataclass(frozen=True)
class ChangingOrg:
    events: list[StoredEvent]
    teams: dict[str, str]  # person -> current team
    merged_team: str
    merge_week: int
    weeks: int
    start: datetime


def generate_changing_org(
    seed: int,
    *,
    teams: int = 8,
    team_size: int = 10,
    weeks: int = 14,
    merge_week: int = 10,
    cross_before: int = 4,
    cross_after: int = 1,
    cross_others: int = 2,
    teammates: int = 3,
    start: datetime = FIRST_MONDAY,
) -> ChangingOrg:
    """Events over ``weeks`` weeks from ``start`` (a Monday), deterministic in ``seed``."""
    rng = random.Random(seed)
    names = [f"team-{t:02d}" for t in range(teams)]
    people = {t: [f"s{seed}-{t:02d}-{i:02d}" for i in range(team_size)] for t in range(teams)}
    merged = "team-00+01"
    label = {p: (merged if t < 2 else names[t]) for t, ps in people.items() for p in ps}
    everyone = sorted(label)
    events: list[StoredEvent] = []
    seq = 0

    def add(kind: str, actor: str, participants: list[str], at: datetime) -> None:
        nonlocal seq
        seq += 1
        events.append(
            StoredEvent.model_construct(
                schema_version=1,
                event_id=f"syn{seed}-{seq}",
                kind=kind,
                actor=actor,
                participants=participants,
                occurred_at=at.timestamp(),
                duration_s=1800 if kind == "meeting" else None,
                teams=None,
            )
        )

    for week in range(weeks):
        monday = start + timedelta(weeks=week)

        def moment(monday: datetime = monday) -> datetime:
            """A working-hours moment of this week."""
            return monday + timedelta(days=rng.randrange(5), hours=9 + rng.randrange(8), minutes=rng.randrange(60))

        after = week >= merge_week
        groups = [people[0] + people[1]] if after else [people[0], people[1]]
        groups += [people[t] for t in range(2, teams)]
        for group in groups:
            in_merged = label[group[0]] == merged
            outside = cross_after if (in_merged and after) else (cross_before if in_merged else cross_others)
            members = set(group)
            strangers = [p for p in everyone if p not in members and label[p] != label[group[0]]]
            for p in group:
                for q in rng.sample([m for m in group if m != p], min(teammates, len(group) - 1)):
                    add("email", p, [q], moment())
                    add("email", q, [p], moment())
                for q in rng.sample(strangers, outside):
                    add("email", p, [q], moment())
                    add("email", q, [p], moment())
            add("meeting", group[0], group[1:], moment())
        if week % 4 == 0:  # an all-hands of 40 (the ledger's meetings hold at most 50)
            hall = rng.sample(everyone, min(40, len(everyone)))
            add("meeting", hall[0], hall[1:], moment())
    return ChangingOrg(events, label, merged, merge_week, weeks, start)
