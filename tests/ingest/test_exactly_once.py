"""Fault tests: SIGKILL consumers mid-work; the graph still equals the input's exact totals."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ops.processes import settings_env
from shared.adapters.streams import StreamNames, ensure_group, lag
from shared.platform.resources import Resources
from shared.platform.settings import Settings
from shared.services.graph_updater import GraphUpdater
from shared.services.ingest import accept_events, stream_names
from tests.conftest import ROOT
from tests.ingest.helpers import assert_graph_matches, eu_core_events, expected_totals, scoped_pipeline

EVENTS = 50_000
KILL_AT_REMAINING = (0.85, 0.6, 0.35)  # fractions of the input still unacknowledged at each kill


def start_consumer(env: dict[str, str], name: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "functions.graph_updater.main", "--consumer", name],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


async def wait_drained(resources: Resources, settings: Settings, timeout_s: float) -> None:
    names = stream_names(settings)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = await lag(resources.redis, names)
        if state["lag"] == 0 and state["pending"] == 0:
            return
        await asyncio.sleep(0.25)
    raise AssertionError(f"stream not drained within {timeout_s}s: {state}")


async def wait_remaining_below(resources: Resources, names: StreamNames, remaining: int) -> None:
    """Polls until fewer than `remaining` entries are undelivered or unacknowledged."""
    deadline = time.monotonic() + 240
    state: dict[str, int] = {}
    while time.monotonic() < deadline:
        state = await lag(resources.redis, names)
        if state["lag"] + state["pending"] < remaining:
            if state["lag"] + state["pending"] == 0:
                raise AssertionError("the consumers drained the stream between two polls: make the workload larger")
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"no progress to {remaining} outstanding within 240 s: {state}")


async def wait_registered(resources: Resources, settings: Settings, consumers: set[str]) -> None:
    """Every running consumer has joined the group (so SIGTERM meets its handler, not start-up)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        rows = await resources.redis.xinfo_consumers(settings.ingest.stream_name, settings.ingest.stream_group)
        joined = {(r["name"].decode() if isinstance(r["name"], bytes) else r["name"]) for r in rows}
        if consumers <= joined:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"consumers never joined: {consumers - joined}")


@pytest.mark.slow
@pytest.mark.parametrize("consumers", [1, 2, 4])
async def test_sigkill_consumers_lose_and_double_count_nothing(
    consumers: int, settings: Settings, resources: Resources, data_dir: Path, run_id: str
) -> None:
    scoped, graph = await scoped_pipeline(settings, resources, run_id, f"fault{consumers}")
    events = eu_core_events(data_dir, EVENTS)
    assert len(events) == EVENTS
    expected = expected_totals(events, scoped.privacy.pseudonymisation_key)
    for start in range(0, len(events), 1000):
        await accept_events(scoped, resources.redis, events[start : start + 1000])

    env = settings_env(
        scoped,
        CO_GRAPH_NAME=scoped.graph.name,
        CO_STREAM_NAME=scoped.ingest.stream_name,
        CO_DEAD_LETTER_STREAM=scoped.ingest.dead_letter_stream,
        CO_CONSUMER_CLAIM_IDLE_MS="1500",
        CO_CONSUMER_BATCH="500",
    )
    rng = random.Random(consumers)
    names = stream_names(scoped)
    await ensure_group(resources.redis, names)  # so the whole input counts as lag before any consumer joins
    procs = {f"c{i}": start_consumer(env, f"c{i}") for i in range(consumers)}
    kills = 0
    try:
        # Kill on progress, not on a clock: a fast machine drained the stream before the third
        # timed kill. Each kill waits until another slice of the input is outstanding no more.
        for threshold in KILL_AT_REMAINING:
            await wait_remaining_below(resources, names, int(EVENTS * threshold))
            victim = rng.choice(sorted(procs))
            procs[victim].send_signal(signal.SIGKILL)
            procs[victim].wait()
            kills += 1
            replacement = f"{victim}-r{kills}"  # a new name: its predecessor's entries must be claimed
            procs[replacement] = start_consumer(env, replacement)
            del procs[victim]
        await wait_drained(resources, scoped, timeout_s=240)
        await wait_registered(resources, scoped, set(procs))
    finally:
        for proc in procs.values():
            proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            proc.wait(timeout=30)
    assert all(p.returncode == 0 for p in procs.values()), "SIGTERM must finish the batch and exit 0"
    await assert_graph_matches(graph, expected)
    dead = await resources.redis.xlen(scoped.ingest.dead_letter_stream)
    assert dead == 0
    async with resources.pg.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM event_receipts") == EVENTS
    await graph.clear()
    await graph.close()


async def test_same_batch_twice_changes_nothing(
    settings: Settings, resources: Resources, data_dir: Path, run_id: str
) -> None:
    scoped, graph = await scoped_pipeline(settings, resources, run_id, "twice")
    events = eu_core_events(data_dir, 2000)
    expected = expected_totals(events, scoped.privacy.pseudonymisation_key)
    updater = GraphUpdater(scoped, resources.redis, resources.pg, graph, "solo")
    await accept_events(scoped, resources.redis, events[:1000])
    await accept_events(scoped, resources.redis, events[1000:])
    while await updater.step():
        pass
    await assert_graph_matches(graph, expected)
    before = await graph.snapshot()
    for start in (0, 1000):  # the very same batches again
        await accept_events(scoped, resources.redis, events[start : start + 1000])
    while await updater.step():
        pass
    after = await graph.snapshot()
    assert sorted((e.src, e.dst, e.weight, e.count) for e in after.edges) == sorted(
        (e.src, e.dst, e.weight, e.count) for e in before.edges
    )
    assert updater.stats.duplicates == 2000
    assert updater.stats.events_applied == 2000
    await graph.clear()
    await graph.close()


async def test_poison_entry_goes_to_dead_letter_and_good_entries_apply(
    settings: Settings, resources: Resources, data_dir: Path, run_id: str
) -> None:
    scoped, graph = await scoped_pipeline(settings, resources, run_id, "poison")
    events = eu_core_events(data_dir, 300)
    await accept_events(scoped, resources.redis, events[:150])
    await resources.redis.xadd(scoped.ingest.stream_name, {b"e": b'{"not": "an event"}'})
    await resources.redis.xadd(scoped.ingest.stream_name, {b"e": b"\xff\xfe garbage"})
    await accept_events(scoped, resources.redis, events[150:])
    updater = GraphUpdater(scoped, resources.redis, resources.pg, graph, "solo")
    while await updater.step():
        pass
    await assert_graph_matches(graph, expected_totals(events, scoped.privacy.pseudonymisation_key))
    dead = await resources.redis.xrange(scoped.ingest.dead_letter_stream)
    assert len(dead) == 2
    assert all(b"invalid event" in fields[b"reason"] for _, fields in dead)
    state = await lag(resources.redis, stream_names(scoped))
    assert state == {"lag": 0, "pending": 0}
    await graph.clear()
    await graph.close()
