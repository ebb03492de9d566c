"""The ledger's raw interactions of one window, reduced to what the tie-weighting rules need.

One pass over the window's rows of ``interactions`` (range scan on ``occurred_at``): each row
learns its event's group size (``others`` = the rows of the same event with the same source,
i.e. the recipients of a message or the other attendees of a meeting), and rows are then
counted per ``(src, dst, kind, others)``. The weights themselves are applied in Python by
``shared.domain.tie_weights`` (one place for the rule). Self rows are ignored.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

from shared.adapters.postgres.pool import PgPool
from shared.domain.events import INTERACTION_WEIGHT, StoredEvent
from shared.domain.metrics import IndexedGraph, index_graph
from shared.domain.periods import Period
from shared.domain.tie_weights import PairCount, TieRules, WeighedWindow, weigh_ties

LedgerRow = tuple[str, datetime, str, str, str, float, int | None]

_PAIR_COUNTS_SQL = """
SELECT src, dst, kind, others, count(*)::int AS n
  FROM (SELECT src, dst, kind, count(*) OVER (PARTITION BY event_id, src)::int AS others
          FROM interactions
         WHERE occurred_at >= $1 AND occurred_at < $2 AND src <> dst) r
 GROUP BY 1, 2, 3, 4
"""

_TEAMS_SQL = "SELECT person, team FROM person_totals WHERE person = ANY($1::text[])"

_SPAN_SQL = "SELECT min(occurred_at) AS first, max(occurred_at) AS last FROM interactions"


async def window_pair_counts(pool: PgPool, start: datetime, end: datetime) -> list[PairCount]:
    """Interaction counts per directed pair, kind and group size over ``[start, end)``."""
    rows = await pool.fetch(_PAIR_COUNTS_SQL, start, end)
    return [PairCount(r["src"], r["dst"], r["kind"], r["others"], r["n"]) for r in rows]


async def teams_of(pool: PgPool, people: list[str]) -> dict[str, str | None]:
    """Each person's current team (the ledger keeps one; moves are not dated)."""
    rows = await pool.fetch(_TEAMS_SQL, people)
    found: dict[str, str | None] = {r["person"]: r["team"] for r in rows}
    return {p: found.get(p) for p in people}


@dataclass
class PeriodGraph:
    period: Period
    graph: IndexedGraph
    weighed: WeighedWindow


def graph_of(weighed: WeighedWindow, teams: dict[str, str | None]) -> IndexedGraph:
    """Everyone who took part in the period is a node (isolated when none of their pairs is a tie)."""
    return index_graph(
        ((p, teams.get(p)) for p in weighed.people),
        ((t.src, t.dst, t.weight) for t in weighed.ties),
    )


async def build_period_graph(pool: PgPool, period: Period, rules: TieRules) -> PeriodGraph:
    """One range scan of the ledger for ``period``, weighed by ``rules``."""
    counts = await window_pair_counts(pool, period.start, period.end)
    weighed = await asyncio.to_thread(weigh_ties, counts, rules)
    teams = await teams_of(pool, sorted(weighed.people))
    return PeriodGraph(period, graph_of(weighed, teams), weighed)


async def ledger_span(pool: PgPool) -> tuple[datetime, datetime] | None:
    """The first and last interaction the ledger still holds (None when empty)."""
    row = await pool.fetchrow(_SPAN_SQL)
    if row is None or row["first"] is None:
        return None
    return row["first"], row["last"]


def ledger_rows(events: list[StoredEvent]) -> list[LedgerRow]:
    """The ``interactions`` rows the ingest path writes for these events (one per directed pair)."""
    return [
        (e.event_id, datetime.fromtimestamp(e.occurred_at, UTC), e.kind, a, b, INTERACTION_WEIGHT, e.duration_s)
        for e in events
        for a, b in e.ties()
    ]


async def copy_teams(pool: PgPool, teams: dict[str, str]) -> None:
    """Person rows with their team (for benchmarks and tests that bypass ingestion)."""
    async with pool.acquire() as conn:
        await conn.copy_records_to_table("person_totals", records=list(teams.items()), columns=["person", "team"])


async def copy_interactions(pool: PgPool, rows: list[LedgerRow]) -> int:
    """Bulk-load raw ledger rows ``(event_id, occurred_at, kind, src, dst, weight, duration_s)``.

    For benchmarks and tests that start from a known history (real data sets whose dates lie
    outside the ingest path's retention check); production rows only ever come from ingestion.
    """
    async with pool.acquire() as conn:
        await conn.copy_records_to_table(
            "interactions",
            records=rows,
            columns=["event_id", "occurred_at", "kind", "src", "dst", "weight", "duration_s"],
        )
    return len(rows)
