"""Benchmark: a 1,000,000-row metric-history export (`./dev bench:export`).

Seeds its own database with 1,000 people x 1,000 refreshes (10 minutes apart, < 7 days: the
raw granularity the history API serves), starts a Temporal worker *process* hosting only the
export workflows, asks for the export over the API (in-process ASGI app, real JWT), samples
the worker's RSS from /proc every 0.2 s while it streams, downloads the CSV through the
pre-signed link and checks the row count. Last stdout line: one JSON object with
export_rows_per_s, export_peak_rss_mb (the kernel's VmHWM of the worker), accept_ms (the
POST's 202), the RSS at 10% and 90% of the export (flatness) and the object size.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from ops.stack.config import ROOT
from shared.adapters.postgres.databases import scratch_database
from shared.platform.http import create_app
from shared.platform.resources import Needs
from shared.platform.settings import Settings, load_settings
from shared.platform.tokens import generate_local_keypair, mint_token

PEOPLE = int(os.environ.get("BENCH_EXPORT_PEOPLE", "1000"))
REFRESHES = int(os.environ.get("BENCH_EXPORT_REFRESHES", "1000"))
T0 = datetime(2026, 11, 1, tzinfo=UTC)
STEP = timedelta(minutes=10)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def rss_kb(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


async def seed(dsn: str) -> int:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        day = T0
        while day < T0 + STEP * REFRESHES + timedelta(days=1):
            await conn.execute("SELECT metrics_ensure_partition($1)", day)
            day += timedelta(days=1)
        await conn.execute(
            """INSERT INTO employee_metrics
               SELECT $1::timestamptz + r * interval '10 minutes', 'p_' || lpad(to_hex(p), 32, '0'),
                      'team-' || (p % 40), p % 13, (p + r) % 17, (p % 97) * 0.5, r * 0.001,
                      (p * r % 1000) / 1000.0, 0.25, CASE WHEN p % 10 = 0 THEN NULL ELSE 0.3 END,
                      0.1, 2.5, p % 50, p % 7, p % 3
                 FROM generate_series(0, $2 - 1) AS r, generate_series(0, $3 - 1) AS p""",
            T0,
            REFRESHES,
            PEOPLE,
        )
        await conn.execute("ANALYZE employee_metrics")
        return int(await conn.fetchval("SELECT count(*) FROM employee_metrics"))
    finally:
        await conn.close()


def worker_env(settings: Settings, dsn: str, queue: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "CO_ENVIRONMENT": "test",
            "CO_PG_DSN": dsn,
            "CO_TEMPORAL_TASK_QUEUE": queue,
            "CO_S3_BUCKET": settings.s3.bucket,
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


async def main() -> dict[str, Any]:
    base = load_settings()
    run = uuid.uuid4().hex[:8]
    queue = f"bench-export-{run}"
    keys = Path(tempfile.mkdtemp(prefix="bench-export-keys-"))
    private = generate_local_keypair(keys)
    async with scratch_database(base.postgres.dsn.get_secret_value(), f"co_bench_export_{run}") as dsn:
        started = time.perf_counter()
        rows = await seed(dsn)
        log(f"seeded {rows} rows in {time.perf_counter() - started:.1f} s")
        settings = load_settings(
            environment="test",
            pg_dsn=dsn,
            temporal_task_queue=queue,
            graph_name=f"bench_export_{run}",
            jwt_private_key_file=private,
            jwt_public_keys_dir=keys / "jwt_public",
            rate_limit_write=100_000,
            rate_limit_read=100_000,
        )
        worker = subprocess.Popen(
            [sys.executable, "-m", "workflows.worker", "--package", "workflows.exports"],
            cwd=ROOT,
            env=worker_env(settings, dsn, queue),
            stderr=subprocess.DEVNULL,
        )
        try:
            await asyncio.sleep(4)  # the worker connects and polls
            baseline_kb = rss_kb(worker.pid)
            return await export_and_measure(settings, worker.pid, rows, baseline_kb)
        finally:
            worker.terminate()
            worker.wait(timeout=30)


async def export_and_measure(settings: Settings, pid: int, rows: int, baseline_kb: int) -> dict[str, Any]:
    from functions.exports_api.routes import router

    headers = {"authorization": "Bearer " + mint_token(settings, subject="bench-analyst", roles=["analyst"])}
    body = {
        "kind": "employee_history",
        "start": T0.isoformat(),
        "end": (T0 + STEP * REFRESHES).isoformat(),
        "granularity": "raw",
    }
    app = create_app(
        title="bench",
        needs=Needs(pg=True, redis=True, temporal=True, s3=True),
        routers=[router],
        settings=settings,
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api", timeout=60) as http:
            # warm the connection pools with a small export, then measure the accept of the big one
            accepts: list[float] = []
            for _ in range(5):
                t = time.perf_counter()
                r = await http.post("/v1/exports", json={"kind": "team_metrics"}, headers=headers)
                accepts.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 202, r.text
            t = time.perf_counter()
            r = await http.post("/v1/exports", json=body, headers=headers)
            accept_ms = (time.perf_counter() - t) * 1000
            assert r.status_code == 202, r.text
            export_id = r.json()["id"]
            samples: list[tuple[float, int, int]] = []  # (percent, rows, rss kb)
            began = time.perf_counter()
            while True:
                status = (await http.get(f"/v1/exports/{export_id}", headers=headers)).json()
                samples.append((status["percent"] or 0.0, status["rows"], rss_kb(pid)))
                if status["status"] not in ("queued", "running"):
                    break
                await asyncio.sleep(0.2)
            wall_s = time.perf_counter() - began
            assert status["status"] == "succeeded", status
            peak_kb = rss_kb(pid, "VmHWM")
            link = (await http.post(f"/v1/exports/{export_id}/link", headers=headers)).json()["url"]
        lines = 0
        async with httpx.AsyncClient(timeout=300) as plain, plain.stream("GET", link) as download:
            async for chunk in download.aiter_bytes():
                lines += chunk.count(b"\n")
    assert lines == rows + 1, (lines, rows)
    running = [s for s in samples if 0 < s[1] < rows]

    def rss_at(fraction: float) -> float:
        near = min(running, key=lambda s: abs(s[1] / rows - fraction)) if running else samples[-1]
        return round(near[2] / 1024, 1)

    return {
        "export_rows": rows,
        "export_rows_per_s": round(rows / wall_s),
        "export_wall_s": round(wall_s, 2),
        "export_peak_rss_mb": round(peak_kb / 1024, 1),
        "export_baseline_rss_mb": round(baseline_kb / 1024, 1),
        "export_rss_at_10pct_mb": rss_at(0.1),
        "export_rss_at_50pct_mb": rss_at(0.5),
        "export_rss_at_90pct_mb": rss_at(0.9),
        "export_rss_samples": len(running),
        "export_object_bytes": status["bytes"],
        "accept_ms": round(accept_ms, 1),
        "accept_warm_p50_ms": round(statistics.median(accepts), 1),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


if __name__ == "__main__":
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per status poll otherwise
    result = asyncio.run(main())
    print(json.dumps(result))
