#!/usr/bin/env python3
"""Causal engine benchmark: full pipeline time and peak RSS at three sizes.

    python -m ops.bench_causal [--skip-spark] [--cases pandas_10k,pandas_100k,spark_2m]

Cases (each on generated data with a planted effect, loaded into a scratch database first):
- pandas_10k:  10,000 person-weeks, DoWhy in-process, diagnostics, sensitivity, three refuters x 10 simulations (< 10 s)
- pandas_100k: 100,000 person-weeks, DoWhy in-process, diagnostics, sensitivity, 3 refuters x 10 simulations (< 60 s)
- spark_2m:    2,000,000 person-weeks, Spark local[*] over JDBC, three refuters x 5 simulations (< 300 s)

"Full pipeline" = validate the spec against the data in PostgreSQL + build the panel + choose
the engine + model/identify/estimate/refute + store the result, as a running worker does it:
the heavy libraries (dowhy, statsmodels, sklearn, pandas) are imported before the clock starts,
once per process as in the worker, and that import is reported on its own (``import_s``). Each
case runs in its own process; peak RSS is sampled (every 0.1 s) over that process and its
children (Spark's JVM). CPU seconds (psutil) are reported for that process with its children
(``cpu_s``) and for the PostgreSQL server with its backends (``pg_cpu_s``): under a shared
machine's load the wall time says little, the CPU seconds what the pipeline costs.

The last stdout line is one JSON object with one key per figure: ``<case>_<figure>_<unit>``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from datetime import date

from ops.bench_ingest import cpu_seconds, server_processes
from ops.stack.config import ROOT

CASES: dict[str, dict[str, object]] = {
    "pandas_10k": {
        "seed": 101,
        "people": 1000,
        "weeks": 10,
        "team_size": 12,
        "week0": date(2020, 1, 6),
        "sims": 10,
        "floor_s": 10,
    },
    "pandas_100k": {
        "seed": 102,
        "people": 2000,
        "weeks": 50,
        "team_size": 25,
        "week0": date(2021, 1, 4),
        "sims": 10,
        "floor_s": 60,
    },
    "spark_2m": {
        "seed": 103,
        "people": 20000,
        "weeks": 100,
        "team_size": 500,
        "week0": date(2016, 1, 4),
        "sims": 5,
        "floor_s": 300,
    },
}


class PeakRss:
    """Samples the RSS of this process plus its descendants (the Spark JVM) in a thread."""

    def __init__(self) -> None:
        import psutil

        self._proc = psutil.Process()
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            total = 0
            for p in [self._proc, *self._proc.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    total += p.memory_info().rss
            self.peak = max(self.peak, total)
            self._stop.wait(0.1)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


async def load(dsn: str, name: str) -> None:
    from shared.domain.synthetic_org import generate_org
    from shared.platform.resources import Needs, open_resources
    from shared.platform.settings import load_settings
    from shared.services.synthetic_org import load_org

    c = CASES[name]
    org = generate_org(
        int(c["seed"]),
        people=int(c["people"]),
        weeks=int(c["weeks"]),  # type: ignore[call-overload]
        team_size=int(c["team_size"]),
        first_week=c["week0"],  # type: ignore[call-overload,arg-type]
    )
    async with open_resources(load_settings(pg_dsn=dsn, pg_command_timeout_s=600), Needs(pg=True)) as res:
        await load_org(res, org)


def warm_imports() -> float:
    """Import what a worker holds before its first analysis; the seconds it took."""
    started = time.perf_counter()
    import dowhy  # noqa: F401
    import pandas  # noqa: F401
    import sklearn.linear_model  # noqa: F401
    import statsmodels.api  # noqa: F401

    return time.perf_counter() - started


async def run_case(dsn: str, name: str, import_s: float) -> dict[str, object]:
    from datetime import timedelta

    import psutil

    from shared.adapters.postgres.causal_store import CausalStore
    from shared.domain.analysis import DEFAULT_REFUTERS, AnalysisSpec, Window
    from shared.platform.resources import Needs, open_resources
    from shared.platform.settings import load_settings
    from shared.services.causal_analysis import ProgressState, compute, validate

    c = CASES[name]
    week0: date = c["week0"]  # type: ignore[assignment]
    window = Window(start=week0, end=week0 + timedelta(weeks=int(c["weeks"]) - 1))  # type: ignore[call-overload]
    spec = AnalysisSpec(
        treatment="meeting_hours",
        outcome="wellbeing",
        confounders=["team", "role", "tenure_years"],
        window=window,
        refuters=list(DEFAULT_REFUTERS),
        refuter_simulations=int(c["sims"]),  # type: ignore[call-overload]
    )
    threshold = 100_000 if name.startswith("spark") else 10_000_000
    settings = load_settings(
        pg_dsn=dsn, causal_spark_threshold_rows=threshold, pg_command_timeout_s=600, spark_jdbc_partitions=2
    )
    async with open_resources(settings, Needs(pg=True)) as res:
        store = CausalStore(res.pg)
        me, servers = [psutil.Process()], server_processes()
        cpu0, pg0 = cpu_seconds(me), cpu_seconds(servers)
        with PeakRss() as rss:
            started = time.perf_counter()
            profile = await validate(res, spec)
            validated = time.perf_counter()
            analysis_id = await store.create(spec.model_dump(mode="json"), "bench")
            result, provenance = await compute(res, spec, ProgressState(), profile)
            await store.complete(analysis_id, result.model_dump(mode="json"), provenance)
            seconds = time.perf_counter() - started
        cpu, pg_cpu = cpu_seconds(me) - cpu0, cpu_seconds(servers) - pg0
    stages = provenance.get("stage_seconds") or {}
    return {
        "case": name,
        "rows": result.rows,
        "engine": result.engine.value,
        "refuters": len(result.refutations),
        "simulations_per_refuter": spec.refuter_simulations,
        "pipeline_s": round(seconds, 2),
        "cpu_s": round(cpu, 2),
        "pg_cpu_s": round(pg_cpu, 2),
        "import_s": round(import_s, 2),
        "panel_s": stages.get(f"load:{result.engine.value}"),
        "engine_s": result.seconds,
        "peak_rss_mb": round(rss.peak / 2**20, 1),
        "validate_s": round(validated - started, 2),
        "stage_s": stages,
        "effect": round(result.effect, 4),
        "true_effect": -0.4,
        "verdict": result.verdict,
        "floor_s": c["floor_s"],
        "within_floor": seconds < float(c["floor_s"]),  # type: ignore[arg-type]
    }


async def scratch_db(base: str) -> str:
    from shared.adapters.postgres.databases import create_database

    return await create_database(base, f"co_bench_causal_{uuid.uuid4().hex[:8]}")


async def drop_db(base: str, dsn: str) -> None:
    from shared.adapters.postgres.databases import drop_database

    await drop_database(base, dsn.rsplit("/", 1)[1])


def child(args: list[str]) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-m", "ops.bench_causal", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=os.environ.copy(),
    )
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if out.returncode != 0 or not lines:
        raise SystemExit(f"case {args} failed:\n{out.stderr[-4000:]}")
    return json.loads(lines[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--case")
    parser.add_argument("--load")
    parser.add_argument("--dsn")
    parser.add_argument("--skip-spark", action="store_true")
    parser.add_argument("--cases", help="comma-separated subset of " + ",".join(CASES))
    args = parser.parse_args()
    if args.load:
        asyncio.run(load(args.dsn, args.load))
        print(json.dumps({"loaded": args.load}))
        return
    if args.case:
        import_s = warm_imports()
        print(json.dumps(asyncio.run(run_case(args.dsn, args.case, import_s))))
        return

    load_before = [round(x, 2) for x in os.getloadavg()]
    base = os.environ["CO_PG_DSN"]
    dsn = asyncio.run(scratch_db(base))
    names = [n for n in CASES if not (args.skip_spark and n.startswith("spark"))]
    if args.cases:
        names = [n for n in names if n in args.cases.split(",")]
    results: dict[str, object] = {}
    try:
        for name in names:
            started = time.perf_counter()
            child(["--load", name, "--dsn", dsn])
            print(f"loaded {name} in {time.perf_counter() - started:.1f}s", file=sys.stderr)
        for name in names:
            r = child(["--case", name, "--dsn", dsn])
            print(json.dumps(r), file=sys.stderr)
            results[name] = r
    finally:
        asyncio.run(drop_db(base, dsn))
    summary: dict[str, object] = {"benchmark": "causal", "cpus": os.cpu_count(), "load_average_before": load_before}
    for name, r in results.items():
        assert isinstance(r, dict)
        summary[f"{name}_rows"] = r["rows"]
        summary[f"{name}_engine"] = r["engine"]
        summary[f"{name}_pipeline_s"] = r["pipeline_s"]
        summary[f"{name}_cpu_s"] = r["cpu_s"]
        summary[f"{name}_pg_cpu_s"] = r["pg_cpu_s"]
        summary[f"{name}_validate_s"] = r["validate_s"]
        summary[f"{name}_panel_s"] = r["panel_s"]
        summary[f"{name}_engine_s"] = r["engine_s"]
        summary[f"{name}_import_s"] = r["import_s"]
        summary[f"{name}_peak_rss_mb"] = r["peak_rss_mb"]
        summary[f"{name}_effect"] = r["effect"]
        summary[f"{name}_verdict"] = r["verdict"]
        summary[f"{name}_floor_s"] = r["floor_s"]
        summary[f"{name}_within_floor"] = r["within_floor"]
    summary["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
