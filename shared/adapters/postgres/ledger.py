"""The interaction ledger: applies a batch of events exactly once and returns absolute totals.

One transaction: record receipts (``ON CONFLICT DO NOTHING`` on the event id), insert the raw
pairs of the events that were new, add their deltas to the per-pair and per-person totals
(bumping each row's version), then read back the absolute totals of *everything the batch
touched*, new or not. A redelivered batch therefore changes no total but still returns the
values to project, which is what makes a crash between commit and graph write harmless.
Rows are locked in key order, so concurrent consumers cannot deadlock.

A person's team is the HR attributes store's (``employee_attributes.team``) whenever HR knows
them; otherwise the first team hint an event gave. A later hint never moves anyone: any
producer can send hints, so the latest one winning would let it move people between teams.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

import asyncpg

from shared.adapters.graph.base import PersonRow, TieRow
from shared.domain.events import INTERACTION_WEIGHT, StoredEvent, pair_deltas


@dataclass
class AppliedBatch:
    new_events: int
    duplicate_events: int
    ties: list[TieRow] = field(default_factory=list)
    people: list[PersonRow] = field(default_factory=list)


_TIE_COLUMNS = "t.src, t.dst, t.weight, t.count, extract(epoch FROM t.last_at) AS last_at, t.version"
_PERSON_COLUMNS = "t.person, t.team, t.out_weight, t.in_weight, t.out_degree, t.in_degree, t.version"
_Row = TypeVar("_Row")


def _ts(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


async def apply_events(conn: asyncpg.Connection, events: Sequence[StoredEvent]) -> AppliedBatch:
    """Apply ``events`` exactly once; returns the projection rows for all touched pairs/people."""
    unique: dict[str, StoredEvent] = {}
    for event in events:
        unique.setdefault(event.event_id, event)
    batch = sorted(unique.values(), key=lambda e: e.event_id)  # stable lock order
    async with conn.transaction():
        new_ids = {
            r["event_id"]
            for r in await conn.fetch(
                """INSERT INTO event_receipts (event_id, occurred_at)
                   SELECT * FROM unnest($1::text[], $2::timestamptz[]) AS r(id, at) ORDER BY id
                   ON CONFLICT (event_id) DO NOTHING RETURNING event_id""",
                [e.event_id for e in batch],
                [_ts(e.occurred_at) for e in batch],
            )
        }
        fresh = [e for e in batch if e.event_id in new_ids]
        tie_rows, people_rows = await _record_fresh(conn, fresh) if fresh else ([], [])
        # Redelivered events touch rows the upserts above did not return: read those back.
        returned_pairs = {(r["src"], r["dst"]) for r in tie_rows}
        returned_people = {r["person"] for r in people_rows}
        other_pairs = sorted({pair for e in batch for pair in e.ties()} - returned_pairs)
        other_people = sorted({p for e in batch for p in e.attendees()} - returned_people)
        if other_pairs:
            tie_rows += await conn.fetch(
                f"""SELECT {_TIE_COLUMNS} FROM pair_totals t
                    JOIN unnest($1::text[], $2::text[]) AS k(src, dst) ON t.src = k.src AND t.dst = k.dst""",
                [p[0] for p in other_pairs],
                [p[1] for p in other_pairs],
            )
        if other_people:
            people_rows += await conn.fetch(
                f"SELECT {_PERSON_COLUMNS} FROM person_totals t WHERE t.person = ANY($1::text[])",
                other_people,
            )
    return AppliedBatch(
        new_events=len(fresh),
        duplicate_events=len(events) - len(fresh),
        ties=[tie_row(r) for r in tie_rows],
        people=[person_row(r) for r in people_rows],
    )


def tie_row(r: asyncpg.Record) -> TieRow:
    return TieRow(r["src"], r["dst"], int(r["version"]), float(r["weight"]), int(r["count"]), float(r["last_at"]))


def person_row(r: asyncpg.Record) -> PersonRow:
    return PersonRow(
        id=r["person"],
        version=int(r["version"]),
        team=r["team"],
        out_weight=float(r["out_weight"]),
        in_weight=float(r["in_weight"]),
        out_degree=int(r["out_degree"]),
        in_degree=int(r["in_degree"]),
    )


async def _in_chunks(
    conn: asyncpg.Connection, query: str, convert: Callable[[asyncpg.Record], _Row], chunk: int
) -> AsyncIterator[list[_Row]]:
    """A cursor's rows, converted, in lists of at most ``chunk`` (call inside a transaction)."""
    rows: list[_Row] = []
    async for r in conn.cursor(query):
        rows.append(convert(r))
        if len(rows) >= chunk:
            yield rows
            rows = []
    if rows:
        yield rows


async def iter_totals(conn: asyncpg.Connection, chunk: int) -> AsyncIterator[list[TieRow] | list[PersonRow]]:
    """Every pair total, then every person total, in chunks (call inside a transaction)."""
    async for ties in _in_chunks(conn, f"SELECT {_TIE_COLUMNS} FROM pair_totals t", tie_row, chunk):
        yield ties
    async for people in _in_chunks(conn, f"SELECT {_PERSON_COLUMNS} FROM person_totals t", person_row, chunk):
        yield people


async def count_totals(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SELECT (SELECT count(*) FROM pair_totals) + (SELECT count(*) FROM person_totals)"))


async def _record_fresh(
    conn: asyncpg.Connection, fresh: list[StoredEvent]
) -> tuple[list[asyncpg.Record], list[asyncpg.Record]]:
    """Insert the new events' raw pairs and add their deltas; returns the updated totals rows."""
    raw = [(e, src, dst) for e in fresh for src, dst in e.ties()]
    await conn.execute(
        """INSERT INTO interactions (event_id, occurred_at, kind, src, dst, weight, duration_s)
           SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[],
                                $6::float8[], $7::int[])
           ON CONFLICT DO NOTHING""",
        [e.event_id for e, _, _ in raw],
        [_ts(e.occurred_at) for e, _, _ in raw],
        [e.kind for e, _, _ in raw],
        [s for _, s, _ in raw],
        [d for _, _, d in raw],
        [INTERACTION_WEIGHT] * len(raw),
        [e.duration_s for e, _, _ in raw],
    )
    deltas = pair_deltas(fresh)  # sorted by (src, dst): a stable lock order
    tie_rows = await conn.fetch(
        """INSERT INTO pair_totals AS t (src, dst, weight, count, last_at)
           SELECT * FROM unnest($1::text[], $2::text[], $3::float8[], $4::bigint[], $5::timestamptz[])
               AS d(src, dst, weight, count, last_at) ORDER BY src, dst
           ON CONFLICT (src, dst) DO UPDATE
             SET weight = t.weight + EXCLUDED.weight,
                 count = t.count + EXCLUDED.count,
                 last_at = greatest(t.last_at, EXCLUDED.last_at),
                 version = t.version + 1
           RETURNING (xmax = 0) AS inserted, """
        + _TIE_COLUMNS,
        [d.src for d in deltas],
        [d.dst for d in deltas],
        [d.weight for d in deltas],
        [d.count for d in deltas],
        [_ts(d.last_at) for d in deltas],
    )
    new_pairs = [(r["src"], r["dst"]) for r in tie_rows if r["inserted"]]
    person: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0, 0, 0])
    for d in deltas:
        person[d.src][0] += d.weight
        person[d.dst][1] += d.weight
    for src, dst in new_pairs:
        person[src][2] += 1
        person[dst][3] += 1
    teams: dict[str, str] = {}
    for e in fresh:
        if e.kind == "meeting" and e.duration_s:
            for p in e.attendees():
                person[p][4] += e.duration_s
        if e.teams:
            teams.update(e.teams)
    keys = sorted(person)
    people_rows = await conn.fetch(
        """INSERT INTO person_totals AS t (person, team, out_weight, in_weight, out_degree, in_degree, meeting_s)
           SELECT d.person, coalesce(hr.team, d.team), d.ow, d.iw, d.od, d.idg, d.ms
             FROM unnest($1::text[], $2::text[], $3::float8[], $4::float8[], $5::int[], $6::int[], $7::bigint[])
                  AS d(person, team, ow, iw, od, idg, ms)
             LEFT JOIN employee_attributes hr ON hr.employee = d.person
            ORDER BY d.person
           ON CONFLICT (person) DO UPDATE
             SET team = coalesce((SELECT hr.team FROM employee_attributes hr WHERE hr.employee = t.person),
                                 t.team, EXCLUDED.team),
                 out_weight = t.out_weight + EXCLUDED.out_weight,
                 in_weight = t.in_weight + EXCLUDED.in_weight,
                 out_degree = t.out_degree + EXCLUDED.out_degree,
                 in_degree = t.in_degree + EXCLUDED.in_degree,
                 meeting_s = t.meeting_s + EXCLUDED.meeting_s,
                 version = t.version + 1,
                 updated_at = now()
           RETURNING """
        + _PERSON_COLUMNS,
        keys,
        [teams.get(k) for k in keys],
        [person[k][0] for k in keys],
        [person[k][1] for k in keys],
        [int(person[k][2]) for k in keys],
        [int(person[k][3]) for k in keys],
        [int(person[k][4]) for k in keys],
    )
    return list(tie_rows), list(people_rows)
