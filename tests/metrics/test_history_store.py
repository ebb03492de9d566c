"""employee_metrics on plain PostgreSQL: COPY writes, the incremental hourly rollup, history
queries at each granularity, the minimum group size on team series, and retention."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from shared.adapters.postgres.metrics_store import MetricsStore
from shared.domain.metrics import NUMERIC_METRICS, MetricDefinitions, is_after_hours
from shared.domain.privacy import team_series_view
from shared.platform.resources import Resources


def record(at: datetime, employee: str, team: str | None, seed: float) -> tuple[object, ...]:
    return (
        at,
        employee,
        team,
        int(seed) % 7,  # degree_in
        int(seed * 3) % 11,  # degree_out
        seed * 1.5,
        seed * 0.5,
        seed / 1000.0,
        (seed % 10) / 10.0,
        None if int(seed) % 3 == 0 else (seed % 4) / 4.0,  # cross_team_ratio sometimes unknown
        (seed % 5) / 5.0,
        seed / 3.0,
        int(seed) % 13,
        int(seed) % 5,
        int(seed) % 4,
    )


async def flavour(res: Resources) -> str:
    async with res.pg.acquire() as conn:
        return str(await conn.fetchval("SELECT flavour FROM schema_migrations WHERE version = 10"))


async def test_plain_flavour_is_partitioned(mres: Resources) -> None:
    assert await flavour(mres) == "plain"
    async with mres.pg.acquire() as conn:
        kind = await conn.fetchval("SELECT relkind FROM pg_class WHERE relname = 'employee_metrics'")
    assert kind == b"p" or kind == "p"  # partitioned table


async def test_rollup_agrees_with_raw_at_hour_and_day(mres: Resources) -> None:
    store = MetricsStore(mres.pg)
    base = datetime(2031, 1, 6, 9, 0, tzinfo=UTC)
    times = [base + timedelta(minutes=m) for m in (0, 20, 50)] + [base + timedelta(hours=1, minutes=5)]
    people = [f"roll-a{i}" for i in range(6)]
    for k, at in enumerate(times):
        written = await store.write_history(
            at, [record(at, p, "team-roll", 10 * k + i + 1) for i, p in enumerate(people)]
        )
        assert written == 6
    end = base + timedelta(days=1)
    for person in people:
        raw = await store.employee_history(person, base, end, "raw")
        hourly = await store.employee_history(person, base, end, "hour")
        daily = await store.employee_history(person, base, end, "day")
        assert len(raw) == 4 and [h["samples"] for h in hourly] == [3, 1] and daily[0]["samples"] == 4
        for col in NUMERIC_METRICS:
            first_hour = [r[col] for r in raw[:3] if r[col] is not None]
            expected = sum(first_hour) / len(first_hour) if first_hour else None
            got = hourly[0][col]
            assert (got is None and expected is None) or math.isclose(got, expected, rel_tol=1e-12), col
            every = [r[col] for r in raw if r[col] is not None]
            exp_day = sum(every) / len(every) if every else None
            got_day = daily[0][col]
            assert (got_day is None and exp_day is None) or math.isclose(got_day, exp_day, rel_tol=1e-12), col


async def test_team_history_withholds_small_teams(mres: Resources) -> None:
    store = MetricsStore(mres.pg)
    at = datetime(2031, 2, 3, 12, 0, tzinfo=UTC)
    rows = [record(at, f"big-{i}", "team-big", i + 1) for i in range(5)]
    rows += [record(at, f"small-{i}", "team-small", i + 1) for i in range(4)]
    await store.write_history(at, rows)
    end = at + timedelta(hours=2)
    for gran in ("raw", "hour", "day"):
        big = await store.team_history("team-big", at - timedelta(days=1), end, gran)  # type: ignore[arg-type]
        small = await store.team_history("team-small", at - timedelta(days=1), end, gran)  # type: ignore[arg-type]
        assert len(big) == 1 and big[0]["members"] == 5
        assert math.isclose(big[0]["weighted_in"], sum((i + 1) * 1.5 for i in range(5)) / 5)
        # the store returns every point with its size; the one k rule withholds the small team's
        assert len(small) == 1 and small[0]["members"] == 4
        assert team_series_view("team-small", small, 5) == []
        assert team_series_view("team-big", big, 5)[0]["members"] == 5
    # the team rollup agrees with the employee rows it summarises, at hour and day
    base = datetime(2031, 1, 6, 9, 0, tzinfo=UTC)
    rows = await store.employee_history("roll-a0", base, base + timedelta(days=1), "raw")
    assert rows
    for gran in ("hour", "day"):
        team = await store.team_history("team-roll", base, base + timedelta(days=1), gran)  # type: ignore[arg-type]
        assert team and all(p["members"] == 6 for p in team)
    async with mres.pg.acquire() as conn:
        expected = await conn.fetchval(
            "SELECT avg(weighted_in) FROM employee_metrics WHERE team = 'team-roll' AND time >= $1 AND time < $2",
            base,
            base + timedelta(days=1),
        )
    day = await store.team_history("team-roll", base, base + timedelta(days=1), "day")
    assert math.isclose(day[0]["weighted_in"], expected, rel_tol=1e-12)


async def test_retention_drops_old_raw_keeps_rollups(mres: Resources) -> None:
    store = MetricsStore(mres.pg)
    now = datetime(2031, 6, 1, 12, 0, tzinfo=UTC)
    ages = {"d100": 100, "d95": 95, "d89": 89, "d800": 800}
    for name, days in ages.items():
        at = now - timedelta(days=days)
        await store.write_history(at, [record(at, f"ret-{name}-{i}", "team-ret", i + 2) for i in range(5)])
    # what the raw data said before retention, per old bucket
    before = {
        name: await store.employee_history(f"ret-{name}-0", now - timedelta(days=days + 1), now, "raw")
        for name, days in ages.items()
    }
    parts_before = {
        r["relname"]
        for r in await mres.pg.fetch(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'employee_metrics'::regclass"
        )
    }
    dropped = await store.retention(now, timedelta(days=90), timedelta(days=730))
    assert dropped >= 3  # the 100-, 95- and 800-day-old partitions (and any older test data)
    async with mres.pg.acquire() as conn:
        old = await conn.fetchval("SELECT count(*) FROM employee_metrics WHERE time < $1", now - timedelta(days=90))
        kept = await conn.fetchval("SELECT count(*) FROM employee_metrics WHERE employee LIKE 'ret-d89-%'")
        parts_after = {
            r["relname"]
            for r in await conn.fetch(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = 'employee_metrics'::regclass"
            )
        }
    assert old == 0 and kept == 5
    assert "employee_metrics_p20310221" in parts_before - parts_after  # 100 days before June 1st
    assert "employee_metrics_p20310304" in parts_after  # 89 days: kept
    for name, days in (("d100", 100), ("d95", 95)):
        assert await store.employee_history(f"ret-{name}-0", now - timedelta(days=days + 1), now, "raw") == []
        hourly = await store.employee_history(f"ret-{name}-0", now - timedelta(days=days + 1), now, "hour")
        assert len(hourly) == 1 and len(before[name]) == 1
        for col in NUMERIC_METRICS:
            a, b = hourly[0][col], before[name][0][col]
            assert (a is None and b is None) or math.isclose(a, b, rel_tol=1e-12), col
    # the team series follow the same retention, and their rollup keeps the old hour
    async with mres.pg.acquire() as conn:
        old_team = await conn.fetchval("SELECT count(*) FROM team_metrics WHERE time < $1", now - timedelta(days=90))
    assert old_team == 0
    d100 = now - timedelta(days=100)
    team_hour = await store.team_history("team-ret", d100 - timedelta(hours=1), d100 + timedelta(hours=1), "hour")
    assert len(team_hour) == 1 and team_hour[0]["members"] == 5
    assert math.isclose(team_hour[0]["weighted_in"], sum((i + 2) * 1.5 for i in range(5)) / 5)
    # rollups past their own 2-year retention are gone too
    assert await store.employee_history("ret-d800-0", now - timedelta(days=801), now, "hour") == []


async def test_window_measures_match_the_domain_rule(mres: Resources) -> None:
    """After-hours share and meeting hours from the ledger, each event once per participant."""
    defs = MetricDefinitions()
    t_meeting = datetime(2032, 3, 6, 10, 0, tzinfo=UTC)  # a Saturday: after hours
    t_late = datetime(2032, 3, 9, 20, 30, tzinfo=UTC)  # Tuesday evening: after hours
    t_day = datetime(2032, 3, 9, 10, 0, tzinfo=UTC)  # Tuesday morning: working hours
    assert is_after_hours(t_meeting, defs) and is_after_hours(t_late, defs) and not is_after_hours(t_day, defs)
    rows = []
    attendees = ["wm-a", "wm-b", "wm-c"]
    for s in attendees:
        for d in attendees:
            if s != d:
                rows.append(("wm-meet-1", t_meeting, "meeting", s, d, 1.0, 3600))
    rows += [("wm-mail-1", t_late, "email", "wm-a", "wm-b", 1.0, None)]
    rows += [("wm-mail-2", t_day, "email", "wm-a", "wm-c", 1.0, None)]
    rows += [("wm-old", t_day - timedelta(days=40), "meeting", "wm-a", "wm-b", 1.0, 7200)]  # outside window
    async with mres.pg.acquire() as conn:
        await conn.executemany(
            "INSERT INTO interactions (event_id, occurred_at, kind, src, dst, weight, duration_s) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
            rows,
        )
    end = datetime(2032, 3, 10, tzinfo=UTC)
    got = await MetricsStore(mres.pg).window_measures(end - timedelta(days=28), end, defs)
    a, b, c = got["wm-a"], got["wm-b"], got["wm-c"]
    assert (a.events, a.after_hours_events, a.meeting_hours) == (3, 2, 1.0)
    assert (b.events, b.after_hours_events, b.meeting_hours) == (2, 2, 1.0)
    assert (c.events, c.after_hours_events, c.meeting_hours) == (2, 1, 1.0)
    assert math.isclose(a.after_hours_share or 0, 2 / 3)


async def test_indexes_for_the_common_queries_exist(mres: Resources) -> None:
    async with mres.pg.acquire() as conn:
        names = {
            r["indexname"]
            for r in await conn.fetch(
                "SELECT indexname FROM pg_indexes WHERE tablename IN "
                "('employee_metrics', 'employee_metrics_hourly', 'team_metrics', 'team_metrics_hourly')"
            )
        }
        # partitions inherit the parent's indexes: a new day's partition gets them too
        part = await conn.fetchval("SELECT metrics_ensure_partition($1)", datetime(2033, 1, 1, tzinfo=UTC))
        part_indexes = await conn.fetchval("SELECT count(*) FROM pg_indexes WHERE tablename = $1", part)
    assert {
        "employee_metrics_employee_time",
        "employee_metrics_team_time",
        "employee_metrics_time",
        "employee_metrics_hourly_pkey",
        "employee_metrics_hourly_team_bucket",
        "team_metrics_pkey",
        "team_metrics_hourly_pkey",
    } <= names
    assert part == "employee_metrics_p20330101" and part_indexes == 3
