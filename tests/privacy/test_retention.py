"""The retention job with the clock shifted: events planted at 89 and 91 days; exactly the old
ones go, totals and graph equal a rebuild from the remaining ledger, and an event re-sent
inside the window is still deduplicated (its receipt outlives it)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from shared.adapters.postgres.ledger import apply_events
from shared.domain.events import EventBatch, InteractionEvent, StoredEvent, validation_context
from shared.platform.resources import Needs, Resources
from shared.platform.settings import Settings
from shared.services.retention import run_retention
from tests.privacy.conftest import own_org

LATER = datetime.now(UTC).replace(microsecond=0) + timedelta(days=88)  # the shifted clock the job runs at
KEY = b"retention-test-key"


@pytest.fixture(scope="module")
async def rres(settings: Settings, stack_env: dict[str, str], run_id: str) -> AsyncIterator[Resources]:
    needs = Needs(graph=True, redis=True, pg=True, s3=True)
    # several batches, each with its own recomputation
    async with own_org(settings, stack_env, run_id, "retention", needs, retention_batch_rows=7) as res:
        yield res


def _event(event_id: str, age_days: float, kind: str, actor: str, *participants: str) -> InteractionEvent:
    body: dict[str, Any] = {
        "event_id": event_id,
        "kind": kind,
        "actor": actor,
        "participants": list(participants),
        "occurred_at": (LATER - timedelta(days=age_days)).isoformat(),
        "teams": {actor: "t-" + actor[0]},
    }
    if kind == "meeting":
        body["duration_s"] = 1800
    # validated as the door does, at the (shifted) moment it arrived: just after it happened
    arrived = LATER - timedelta(days=age_days) + timedelta(hours=1)
    return InteractionEvent.model_validate(body, context=validation_context(arrived))


EVENTS = [
    _event("old-1", 91, "email", "ann", "bob", "cat"),
    _event("old-2", 91, "meeting", "bob", "cat", "dan"),
    _event("old-3", 91.5, "chat", "eve", "fay"),  # a pair only old events made
    _event("edge-1", 89, "email", "ann", "bob"),
    _event("edge-2", 89, "meeting", "cat", "dan", "ann"),
    _event("new-1", 10, "chat", "bob", "ann"),
    _event("new-2", 3, "code_review", "dan", "cat"),
]


def _stored(events: list[InteractionEvent]) -> list[StoredEvent]:
    return [e.pseudonymised(KEY) for e in events]


async def _apply(res: Resources, events: list[StoredEvent]) -> Any:
    async with res.pg.acquire() as conn:
        applied = await apply_events(conn, events)
    await res.graph.upsert_ties(applied.ties)
    await res.graph.upsert_people(applied.people)
    return applied


async def _totals(res: Resources) -> tuple[dict[tuple[str, str], tuple[float, int, float]], dict[str, tuple]]:
    async with res.pg.acquire() as conn:
        pairs = {
            (r["src"], r["dst"]): (r["weight"], r["count"], r["last_at"].timestamp())
            for r in await conn.fetch("SELECT src, dst, weight, count, last_at FROM pair_totals")
        }
        people = {
            r["person"]: tuple(r.values())[1:]
            for r in await conn.fetch(
                "SELECT person, out_weight, in_weight, out_degree, in_degree, meeting_s FROM person_totals"
            )
        }
    return pairs, people


async def _rebuilt(res: Resources) -> tuple[dict[tuple[str, str], tuple[float, int, float]], dict[str, tuple]]:
    """What a rebuild from the remaining ledger gives, by re-applying every remaining event
    (as recorded in the ledger) to a fresh set of totals in a scratch schema."""
    async with res.pg.acquire() as conn, conn.transaction():
        await conn.execute("CREATE TEMP TABLE re_i ON COMMIT DROP AS SELECT * FROM interactions")
        pairs = {
            (r["src"], r["dst"]): (r["weight"], r["count"], r["last_at"].timestamp())
            for r in await conn.fetch(
                "SELECT src, dst, sum(weight) AS weight, count(*) AS count, max(occurred_at) AS last_at"
                " FROM re_i GROUP BY src, dst"
            )
        }
        people: dict[str, tuple] = {}
        for r in await conn.fetch("SELECT person FROM person_totals"):
            p = r["person"]
            out_w = sum(w for (s, _), (w, _, _) in pairs.items() if s == p)
            in_w = sum(w for (_, d), (w, _, _) in pairs.items() if d == p)
            out_d = sum(1 for s, _ in pairs if s == p)
            in_d = sum(1 for _, d in pairs if d == p)
            meeting = await conn.fetchval(
                """SELECT coalesce(sum(d), 0) FROM (SELECT DISTINCT event_id, duration_s AS d FROM re_i
                   WHERE kind = 'meeting' AND (src = $1 OR dst = $1)) m""",
                p,
            )
            people[p] = (out_w, in_w, out_d, in_d, int(meeting))
    return pairs, people


async def _graph(res: Resources) -> tuple[dict[tuple[str, str], tuple[float, int]], dict[str, tuple]]:
    ties = await res.graph.execute(
        "MATCH (a:Person)-[t:INTERACTS]->(b:Person) RETURN a.id AS s, b.id AS d, t.weight AS w, t.count AS c",
        read_only=True,
    )
    people = await res.graph.execute(
        "MATCH (p:Person) RETURN p.id AS id, p.out_weight AS ow, p.in_weight AS iw, p.out_degree AS od,"
        " p.in_degree AS idg",
        read_only=True,
    )
    return (
        {(t["s"], t["d"]): (float(t["w"]), int(t["c"])) for t in ties},
        {p["id"]: (float(p["ow"]), float(p["iw"]), int(p["od"]), int(p["idg"])) for p in people},
    )


async def test_retention_removes_exactly_the_old_events_and_keeps_totals_exact(rres: Resources) -> None:
    applied = await _apply(rres, _stored(EVENTS))
    assert applied.new_events == len(EVENTS)
    async with rres.pg.acquire() as conn:
        before = await conn.fetchval("SELECT count(*) FROM interactions")

    dry = await run_retention(rres, now=LATER, dry_run=True)
    old_rows = 2 + 6 + 1  # old-1: 2 pairs, old-2: 3 attendees -> 6 directed pairs, old-3: 1
    assert dry.dry_run and dry.deleted["interactions"] == old_rows
    assert dry.deleted["event_receipts"] == 0  # receipts outlive the window by the grace period
    async with rres.pg.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM interactions") == before  # nothing changed

    report = await run_retention(rres, now=LATER)
    assert report.deleted["interactions"] == old_rows
    async with rres.pg.acquire() as conn:
        left = {r["event_id"] for r in await conn.fetch("SELECT DISTINCT event_id FROM interactions")}
        runs = await conn.fetch("SELECT dry_run, report FROM retention_runs ORDER BY id")
    assert left == {"edge-1", "edge-2", "new-1", "new-2"}
    assert [r["dry_run"] for r in runs] == [True, False]

    # totals equal a rebuild from the remaining ledger; the graph equals the totals
    totals_pairs, totals_people = await _totals(rres)
    rebuilt_pairs, rebuilt_people = await _rebuilt(rres)
    assert totals_pairs == rebuilt_pairs
    assert totals_people == rebuilt_people
    graph_ties, graph_people = await _graph(rres)
    assert graph_ties == {k: (w, c) for k, (w, c, _) in totals_pairs.items()}
    assert {p: v[:4] for p, v in totals_people.items()} == graph_people
    eve, fay = _stored([EVENTS[2]])[0].actor, _stored([EVENTS[2]])[0].participants[0]
    assert (eve, fay) not in graph_ties and graph_people[eve] == (0.0, 0.0, 0, 0)

    # re-sent inside the window: accepted by the door at the shifted clock, and deduplicated
    resent = _event("edge-1", 89, "email", "ann", "bob")
    EventBatch.model_validate({"events": [resent.model_dump(mode="json")]}, context=validation_context(LATER))
    again = await _apply(rres, _stored([resent]))
    assert again.new_events == 0 and again.duplicate_events == 1
    # an event past the window is refused at the door, so its deleted receipt can never matter
    with pytest.raises(ValidationError, match="older than the 90-day raw retention"):
        EventBatch.model_validate({"events": [EVENTS[0].model_dump(mode="json")]}, context=validation_context(LATER))
    # three days on: the 89-day events are past the window, the 91-day receipts past the grace
    late = await run_retention(rres, now=LATER + timedelta(days=3))
    assert late.deleted["event_receipts"] == 3 and late.deleted["interactions"] == 1 + 6
    assert await _totals(rres) == await _rebuilt(rres)


async def test_outcomes_attributes_and_analyses_by_their_own_periods(rres: Resources) -> None:
    async with rres.pg.acquire() as conn:
        await conn.execute(
            """INSERT INTO outcomes (employee, period, metric, value, source, recorded_at) VALUES
               ('p_a', '2020-01-01', 'wellbeing', 3, 'test', $1), ('p_b', '2026-01-01', 'wellbeing', 4, 'test', $2)""",
            LATER - timedelta(days=800),
            LATER - timedelta(days=10),
        )
        await conn.execute(
            """INSERT INTO employee_attributes (employee, tenure_years, role, updated_at) VALUES
               ('p_a', 1, 'eng', $1), ('p_b', 2, 'eng', $2)""",
            LATER - timedelta(days=800),
            LATER - timedelta(days=10),
        )
        await conn.execute(
            """INSERT INTO analyses (id, spec, status, created_at) VALUES
               (gen_random_uuid(), '{}', 'succeeded', $1), (gen_random_uuid(), '{}', 'succeeded', $2),
               (gen_random_uuid(), '{}', 'running', $1)""",
            LATER - timedelta(days=400),
            LATER - timedelta(days=10),
        )
    report = await run_retention(rres, now=LATER)
    assert report.deleted["outcomes"] == 1
    assert report.deleted["employee_attributes"] == 1
    assert report.deleted["analyses"] == 1  # the running one is kept whatever its age
    async with rres.pg.acquire() as conn:
        assert await conn.fetchval("SELECT array_agg(employee) FROM outcomes") == ["p_b"]
        assert await conn.fetchval("SELECT count(*) FROM analyses") == 2
