"""docs/runbooks/migration.md rehearsed: a proof of concept's history back-filled through the
ingest path (HTTP ingest function, stream, a graph updater process), then the guide's
verification table, then the back-fill repeated (idempotent by event id), and the abuse case:
history older than the raw retention is refused whole, nothing written."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from ops.processes import serve, settings_env, stop
from ops.stack.config import ROOT
from shared.adapters.streams import lag
from shared.platform.resources import Needs, open_resources
from shared.platform.settings import Settings
from shared.platform.tokens import mint_token
from shared.services.ingest import stream_names
from shared.services.replay import file_events, replay


@pytest.fixture(scope="module")
def mig_settings(settings: Settings, run_id: str) -> Settings:
    return settings.replace(
        **{
            "stream_name": f"test:{run_id}:mig",
            "dead_letter_stream": f"test:{run_id}:mig:dead",
            "graph_name": f"test_{run_id}_mig",
        }
    )


@pytest.fixture(scope="module")
def platform(mig_settings: Settings) -> Iterator[str]:
    """The ingest function and one graph updater, as they run after step 2 of the guide."""
    env = settings_env(mig_settings)
    consumer = subprocess.Popen(
        [sys.executable, "-m", "functions.graph_updater.main", "--consumer", "mig-1"], cwd=ROOT, env=env
    )
    try:
        with serve("functions.ingest_http.main:app", env) as base:
            yield base
    finally:
        stop(consumer, 20)


async def drained(settings: Settings, timeout_s: float = 180) -> None:
    async with open_resources(settings, Needs(redis=True)) as res:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            state = await lag(res.redis, stream_names(settings))
            if state["lag"] == 0 and state["pending"] == 0:
                return
            await asyncio.sleep(0.3)
    raise AssertionError(f"the back-fill did not drain: {state}")


async def verify(settings: Settings, prefix: str) -> dict[str, Any]:
    async with open_resources(settings, Needs(redis=True, pg=True, graph=True)) as res:
        async with res.pg.acquire() as conn:
            rows = await conn.fetchval("SELECT count(*) FROM interactions WHERE event_id LIKE $1", f"{prefix}-%")
        dead = await res.redis.xlen(settings.ingest.dead_letter_stream)
        counts = await res.graph.counts()
    return {"ledger_rows": rows, "dead_letters": dead, "people": counts.people, "ties": counts.ties}


async def test_backfill_through_the_ingest_path_verifies_and_repeats_idempotently(
    platform: str, mig_settings: Settings, run_id: str, data_dir: Path, tmp_path: Path
) -> None:
    source = data_dir / "email-Eu-core" / "email-Eu-core-temporal-first150days.txt"
    sample = tmp_path / "poc-export.txt"
    sample.write_text("".join(source.read_text().splitlines(keepends=True)[:1500]))
    prefix = f"mig{run_id}"
    events = [e for e in file_events(sample, span_days=60, prefix=prefix) if e["actor"] != e["participants"][0]]
    people = {e["actor"] for e in events} | {e["participants"][0] for e in events}
    pairs = {(e["actor"], e["participants"][0]) for e in events}
    token = mint_token(mig_settings, subject="poc-backfill", roles=["service"])

    report = await replay(iter(events), url=platform + "/v1/events", token=token, rate=None, batch_size=500)
    assert report.rejected_batches == 0 and report.accepted == len(events)
    await drained(mig_settings)
    first = await verify(mig_settings, prefix)
    assert first == {"ledger_rows": len(events), "dead_letters": 0, "people": len(people), "ties": len(pairs)}

    # a repeated back-fill (a retry, an overlap at the cut-over) changes nothing
    again = await replay(iter(events), url=platform + "/v1/events", token=token, rate=None, batch_size=500)
    assert again.rejected_batches == 0
    await drained(mig_settings)
    assert await verify(mig_settings, prefix) == first

    # history beyond the raw retention is refused whole: nothing of the batch is written
    old = dict(events[0], event_id=f"{prefix}-old", occurred_at=(datetime.now(UTC) - timedelta(days=400)).isoformat())
    r = httpx.post(
        platform + "/v1/events",
        json={"events": [dict(events[1], event_id=f"{prefix}-new"), old]},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error", r.text
    await drained(mig_settings)
    assert (await verify(mig_settings, prefix))["ledger_rows"] == len(events)
