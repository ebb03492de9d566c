"""Durability: a worker process killed (SIGKILL) in the middle of an analysis. The activity's
heartbeat times out, Temporal retries it on a fresh worker, and the analysis completes once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest

from ops.processes import settings_env
from shared.adapters.postgres.causal_store import CausalStore
from shared.domain.analysis import AnalysisSpec, Window
from shared.domain.synthetic_org import generate_org
from shared.platform.resources import Needs, Resources, open_resources
from shared.platform.settings import Settings
from shared.services.causal_analysis import start_analysis
from shared.services.synthetic_org import load_org

ROOT = Path(__file__).resolve().parents[2]
WEEK0 = date(2025, 1, 6)


@pytest.fixture()
async def kill_res(causal_settings: Settings, run_id: str) -> AsyncIterator[Resources]:
    settings = causal_settings.replace(**{"temporal_task_queue": f"causal-kill-{run_id}"})
    async with open_resources(settings, Needs(pg=True, temporal=True)) as res:
        yield res


def start_worker(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, **settings_env(settings, environment="test")}  # its Temporal namespace included
    with log.open("ab") as fh:
        return subprocess.Popen([sys.executable, "-m", "workflows.worker"], cwd=ROOT, env=env, stdout=fh, stderr=fh)


PEOPLE, WEEKS = 800, 30  # 24,000 person-weeks: pandas engine (below the Spark threshold)


async def test_worker_killed_mid_analysis_completes_once(kill_res: Resources, tmp_path: Path) -> None:
    # large enough that the refuters run for seconds: after the refit speed-ups 6,000 rows with
    # 60 simulations finished every refuter within one 0.2 s poll and the kill came too late
    org = generate_org(21, people=PEOPLE, weeks=WEEKS, first_week=WEEK0)
    await load_org(kill_res, org)
    window = Window(start=WEEK0, end=org.weeks[-1])
    spec = AnalysisSpec(**org.spec_kwargs(), window=window, refuter_simulations=200)
    store = CausalStore(kill_res.pg)
    log = tmp_path / "worker.log"

    first = start_worker(kill_res.settings, log)
    second: subprocess.Popen[bytes] | None = None
    try:
        analysis_id, profile = await start_analysis(kill_res, spec, "kill-test")
        assert profile.rows == PEOPLE * WEEKS
        deadline = time.monotonic() + 240  # a fresh worker imports DoWhy first; CI once needed > 120 s
        while time.monotonic() < deadline:  # wait until the activity is well into its work
            row = await store.get(analysis_id)
            assert row is not None
            if row.status == "running" and str(row.progress.get("stage", "")).startswith("refute"):
                break
            assert first.poll() is None, log.read_text()[-3000:]
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"the activity never got going (last row: {row!r}): {log.read_text()[-3000:]}")
        assert row.attempts == 1 and row.completions == 0
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        await asyncio.sleep(1.0)
        mid = await store.get(analysis_id)
        assert mid is not None and mid.status == "running" and mid.result is None

        second = start_worker(kill_res.settings, log)
        client = await kill_res.temporal()
        outcome = await asyncio.wait_for(client.get_workflow_handle(f"analysis-{analysis_id}").result(), 300)
        assert outcome["status"] == "succeeded" and outcome["already"] is False
        done = await store.get(analysis_id)
        assert done is not None
        assert done.status == "succeeded"
        assert done.completions == 1  # stored exactly once
        assert done.attempts >= 2 and done.provenance is not None and done.provenance["attempt"] >= 2
        assert done.result is not None and abs(done.result["effect"] - org.true_effect) < 0.06
        async with kill_res.pg.acquire() as conn:
            rows = await conn.fetchval(
                "SELECT count(*) FROM analyses WHERE workflow_id = $1", f"analysis-{analysis_id}"
            )
        assert rows == 1
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
