"""The analysis-duration histogram (by engine and verdict) read from the real ``analyses`` table:
every completed analysis is counted in its buckets, failures under verdict ``failed``, and
unfinished analyses not at all."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from shared.adapters.postgres.pool import PgPool
from shared.platform.observability import OperationalGauges
from tests.conftest import own_database

# (status, engine, verdict, seconds); None seconds = not finished
ANALYSES = [
    ("succeeded", "pandas", "robust", 0.5),
    ("succeeded", "pandas", "robust", 4.0),
    ("succeeded", "pandas", "fragile", 12.0),
    ("succeeded", "spark", "robust", 400.0),
    ("succeeded", "spark", "robust", 5000.0),  # beyond the last finite bucket: +Inf only
    ("failed", "spark", None, 90.0),
    ("running", "pandas", None, None),
    ("queued", "pandas", None, None),
]


@pytest.fixture()
async def pool(stack_env: dict[str, str], run_id: str) -> AsyncIterator[PgPool]:
    async with own_database(stack_env, run_id, "histogram") as dsn:
        pg = await PgPool.connect(dsn, min_size=1, max_size=2)
        try:
            yield pg
        finally:
            await pg.close()


def samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


async def test_durations_are_a_cumulative_histogram_by_engine_and_verdict(pool: PgPool) -> None:
    now = datetime.now(UTC)
    async with pool.acquire() as conn:
        for status, engine, verdict, seconds in ANALYSES:
            result = json.dumps({"engine": engine, "verdict": verdict}) if status == "succeeded" else None
            started = now - timedelta(hours=2)
            await conn.execute(
                """INSERT INTO analyses (id, spec, status, result, started_at, completed_at)
                   VALUES ($1, '{}', $2, $3, $4, $5)""",
                uuid.uuid4(),
                status,
                result,
                started,
                None if seconds is None else started + timedelta(seconds=seconds),
            )
    registry = CollectorRegistry()
    gauges = OperationalGauges(registry, pool)
    await gauges.refresh()
    got = samples(registry)

    def bucket(engine: str, verdict: str, le: str) -> float:
        return got[("co_analysis_duration_seconds_bucket", (("engine", engine), ("le", le), ("verdict", verdict)))]

    def count(engine: str, verdict: str) -> float:
        return got[("co_analysis_duration_seconds_count", (("engine", engine), ("verdict", verdict)))]

    assert [bucket("pandas", "robust", le) for le in ("1.0", "2.0", "5.0", "+Inf")] == [1, 1, 2, 2]
    assert count("pandas", "robust") == 2
    assert got[("co_analysis_duration_seconds_sum", (("engine", "pandas"), ("verdict", "robust")))] == 4.5
    assert bucket("pandas", "fragile", "10.0") == 0 and bucket("pandas", "fragile", "20.0") == 1
    assert bucket("spark", "robust", "600.0") == 1 and bucket("spark", "robust", "1800.0") == 1
    assert bucket("spark", "robust", "+Inf") == 2  # the 5,000 s one
    # a failed analysis has no result: engine unknown, verdict "failed"
    assert count("unknown", "failed") == 1 and bucket("unknown", "failed", "60.0") == 0
    assert sum(v for (name, _), v in got.items() if name == "co_analysis_duration_seconds_count") == 6
    assert not any(name.endswith("_avg") for name, _ in got)  # the 24 h mean gauge is gone
