"""Removing rows from the interaction ledger while the totals stay exact (retention, erasure).

After interactions are deleted, the affected pair and person totals are *recomputed* from the
interactions that remain (not decremented), so they equal what a rebuild from the remaining
ledger gives; each changed row's version is bumped so the graph projection takes the new value.
Pairs left with no interaction are deleted (the caller removes those ties from the graph).

Concurrency with the ingest consumer: the total rows are locked first, in the consumer's order
(pairs by (src, dst), then people by id), and only then recomputed by a later statement, whose
READ COMMITTED snapshot includes anything a consumer committed while we waited for the lock.
A consumer that waits on our locks adds its delta to our recomputed value. Either way no
event's contribution is lost or counted twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import asyncpg

from shared.adapters.graph.base import PersonRow, TieRow
from shared.adapters.postgres.ledger import person_row, tie_row

_TIE_COLUMNS = "t.src, t.dst, t.weight, t.count, extract(epoch FROM t.last_at) AS last_at, t.version"
_PERSON_COLUMNS = "t.person, t.team, t.out_weight, t.in_weight, t.out_degree, t.in_degree, t.version"


@dataclass
class Recomputed:
    ties: list[TieRow] = field(default_factory=list)
    people: list[PersonRow] = field(default_factory=list)
    removed_pairs: list[tuple[str, str]] = field(default_factory=list)


async def recompute_totals(
    conn: asyncpg.Connection, pairs: Sequence[tuple[str, str]], people: Sequence[str]
) -> Recomputed:
    """Recompute these pairs' and people's totals from ``interactions`` (call in a transaction)."""
    out = Recomputed()
    pair_list = sorted(set(pairs))
    srcs, dsts = [p[0] for p in pair_list], [p[1] for p in pair_list]
    if pair_list:
        await conn.execute(
            """SELECT 1 FROM pair_totals t JOIN unnest($1::text[], $2::text[]) AS k(src, dst)
                 ON t.src = k.src AND t.dst = k.dst ORDER BY t.src, t.dst FOR UPDATE OF t""",
            srcs,
            dsts,
        )
    person_list = sorted(set(people) | {p for pair in pair_list for p in pair})
    if person_list:
        await conn.execute(
            "SELECT 1 FROM person_totals t WHERE t.person = ANY($1::text[]) ORDER BY t.person FOR UPDATE OF t",
            person_list,
        )
    if pair_list:
        out.removed_pairs = [
            (r["src"], r["dst"])
            for r in await conn.fetch(
                """DELETE FROM pair_totals t USING unnest($1::text[], $2::text[]) AS k(src, dst)
                   WHERE t.src = k.src AND t.dst = k.dst
                     AND NOT EXISTS (SELECT 1 FROM interactions i WHERE i.src = k.src AND i.dst = k.dst)
                   RETURNING t.src, t.dst""",
                srcs,
                dsts,
            )
        ]
        rows = await conn.fetch(
            f"""WITH agg AS (
                    SELECT i.src, i.dst, sum(i.weight) AS weight, count(*) AS count, max(i.occurred_at) AS last_at
                      FROM interactions i JOIN unnest($1::text[], $2::text[]) AS k(src, dst)
                        ON i.src = k.src AND i.dst = k.dst
                     GROUP BY i.src, i.dst)
                UPDATE pair_totals t SET weight = agg.weight, count = agg.count, last_at = agg.last_at,
                       version = t.version + 1
                  FROM agg WHERE t.src = agg.src AND t.dst = agg.dst
                   AND (t.weight, t.count, t.last_at) IS DISTINCT FROM (agg.weight, agg.count, agg.last_at)
                RETURNING {_TIE_COLUMNS}""",
            srcs,
            dsts,
        )
        out.ties = [tie_row(r) for r in rows]
    if person_list:
        rows = await conn.fetch(
            f"""WITH who AS (SELECT unnest($1::text[]) AS person),
                out_w AS (SELECT i.src AS person, sum(i.weight) AS w FROM interactions i
                           WHERE i.src = ANY($1::text[]) GROUP BY i.src),
                in_w AS (SELECT i.dst AS person, sum(i.weight) AS w FROM interactions i
                          WHERE i.dst = ANY($1::text[]) GROUP BY i.dst),
                out_d AS (SELECT p.src AS person, count(*) AS d FROM pair_totals p
                           WHERE p.src = ANY($1::text[]) GROUP BY p.src),
                in_d AS (SELECT p.dst AS person, count(*) AS d FROM pair_totals p
                          WHERE p.dst = ANY($1::text[]) GROUP BY p.dst),
                meet AS (SELECT person, sum(duration_s) AS s FROM (
                            SELECT DISTINCT ON (x.person, i.event_id) x.person, i.duration_s
                              FROM interactions i
                              CROSS JOIN LATERAL (VALUES (i.src), (i.dst)) AS x(person)
                             WHERE i.kind = 'meeting' AND i.duration_s IS NOT NULL
                               AND (i.src = ANY($1::text[]) OR i.dst = ANY($1::text[]))
                               AND x.person = ANY($1::text[])) m
                          GROUP BY person),
                agg AS (SELECT who.person,
                               coalesce(out_w.w, 0) AS out_weight, coalesce(in_w.w, 0) AS in_weight,
                               coalesce(out_d.d, 0)::int AS out_degree, coalesce(in_d.d, 0)::int AS in_degree,
                               coalesce(meet.s, 0)::bigint AS meeting_s
                          FROM who LEFT JOIN out_w USING (person) LEFT JOIN in_w USING (person)
                          LEFT JOIN out_d USING (person) LEFT JOIN in_d USING (person)
                          LEFT JOIN meet USING (person))
                UPDATE person_totals t SET out_weight = agg.out_weight, in_weight = agg.in_weight,
                       out_degree = agg.out_degree, in_degree = agg.in_degree, meeting_s = agg.meeting_s,
                       version = t.version + 1, updated_at = now()
                  FROM agg WHERE t.person = agg.person
                   AND (t.out_weight, t.in_weight, t.out_degree, t.in_degree, t.meeting_s)
                       IS DISTINCT FROM (agg.out_weight, agg.in_weight, agg.out_degree, agg.in_degree, agg.meeting_s)
                RETURNING {_PERSON_COLUMNS}""",
            person_list,
        )
        out.people = [person_row(r) for r in rows]
    return out


# The whole ledger's totals as a rebuild would compute them (tests and `verify` compare with it).
REBUILT_PAIRS_SQL = """
SELECT src, dst, sum(weight) AS weight, count(*) AS count, max(occurred_at) AS last_at
  FROM interactions GROUP BY src, dst ORDER BY src, dst
"""
