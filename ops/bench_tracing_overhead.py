"""`task bench:tracing-overhead`: what tracing at a 10% sampling ratio costs the ingest path,
in CPU seconds per event (issue 15: within 10% of untraced).

Why CPU and not throughput: on a 2-core machine shared by other stacks, wall-clock throughput
swings by more than the effect being measured. The CPU the system under test burns per event is
what a quiet machine would show. Each run starts the real ingest function (uvicorn) and graph
updater consumers with tracing off or on (``CO_OTEL_SAMPLING_RATIO``, spans to files), sends
the same real email-Eu-core events over HTTP at the maximum accepted rate (the producer's
requests are encoded before the clock starts) until the graph has committed every one, and
sums the user+system CPU of the ingest process and every consumer between "ready" and
"drained" (psutil). Runs alternate (off, on, on, off, ...) so a drift in the machine's load
hits both sides alike; the figures are the medians of the pairwise traced/untraced ratios (CPU
per event, and throughput) with their spread. ``--profile DIR`` runs every process under cProfile
(one ``.prof`` per process and run, for ``python -m pstats``; the figures are then not comparable).

Prints human lines, then one JSON object on the last line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psutil
from pydantic import SecretStr

from ops.bench_ingest import Bench, cpu_seconds, events_from_data
from ops.processes import free_port, uvicorn_args, wait_http
from ops.stack.config import ROOT
from shared.adapters.graph import build_graph_store
from shared.adapters.postgres.databases import scratch_database
from shared.platform.settings import Settings, load_settings
from shared.platform.tokens import generate_local_keypair, mint_token

TARGET_RATIO = 1.10


def start_api(env: dict[str, str], port: int, python: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([*python, *uvicorn_args("functions.ingest_http.main:app", port)], cwd=ROOT, env=env)


def profiled(directory: Path | None, name: str) -> list[str]:
    """The interpreter command line, under cProfile when profiling (written at a clean exit)."""
    if directory is None:
        return [sys.executable]
    return [sys.executable, "-m", "cProfile", "-o", str(directory / f"{name}.prof")]


async def one_run(
    base: Settings, dsn: str, keys: Path, ratio: float | None, args: argparse.Namespace
) -> dict[str, Any]:
    """One traced or untraced run on its own graph and stream."""
    tag = uuid.uuid4().hex[:8]
    settings = base.replace(
        pg_dsn=SecretStr(dsn),
        graph_name=f"bench_{tag}",
        stream_name=f"bench:{tag}",
        dead_letter_stream=f"bench:{tag}:dead",
        jwt_public_keys_dir=keys / "jwt_public",
        jwt_private_key_file=keys / "jwt_private.pem",
    )
    graph = build_graph_store(settings)
    await graph.ensure_schema()
    bench = Bench(settings, args.consumers)
    bench.env |= {"CO_CONSUMER_METRICS_PORT": "0"}  # the stack's own consumer may hold the port
    span_dir = Path(tempfile.mkdtemp(prefix="bench-spans-"))
    if ratio is not None:
        bench.env |= {"CO_OTEL_SPAN_DIR": str(span_dir), "CO_OTEL_SAMPLING_RATIO": str(ratio)}
    events = events_from_data(args.events, f"ovh{tag}")
    mode = "traced" if ratio is not None else "untraced"
    api = start_api(bench.env, args.port, profiled(args.profile, f"ingest-{mode}-{tag}"))
    if args.profile is not None:
        bench.python = ["-m", "cProfile", "-o", str(args.profile / f"consumer-{mode}-{tag}-%d.prof")]
    try:
        await wait_http(f"http://127.0.0.1:{args.port}/health/live", timeout_s=60, status=200)
        bench.start_consumers()
        await asyncio.sleep(args.settle_s)  # imports and connections are start-up, not per-event work
        ingest, consumers = [psutil.Process(api.pid)], [psutil.Process(p.pid) for p in bench.procs]
        token = mint_token(settings, subject="bench", roles=["service"])
        load0, t0 = os.getloadavg()[0], time.perf_counter()
        ingest0, consumers0 = cpu_seconds(ingest), cpu_seconds(consumers)
        eps, _fresh = await bench.end_to_end(f"http://127.0.0.1:{args.port}/v1/events", token, len(events))
        ingest_cpu, consumers_cpu = cpu_seconds(ingest) - ingest0, cpu_seconds(consumers) - consumers0
        cpu, wall = ingest_cpu + consumers_cpu, time.perf_counter() - t0
        spans = sum(len(f.read_text().splitlines()) for f in span_dir.glob("*.jsonl"))
    finally:
        bench.stop_consumers()
        # uvicorn re-raises SIGTERM after its shutdown (no profile written); SIGINT unwinds cProfile
        api.send_signal(signal.SIGINT if args.profile is not None else signal.SIGTERM)
        api.wait(timeout=15)
        await graph.clear()
        await graph.close()
        await bench.redis.delete(settings.ingest.stream_name, settings.ingest.dead_letter_stream)
        await bench.redis.aclose()
    return {
        "traced": ratio is not None,
        "events": len(events),
        "cpu_s": round(cpu, 2),
        "cpu_ms_per_event": round(cpu / len(events) * 1000, 4),
        "ingest_cpu_ms_per_event": round(ingest_cpu / len(events) * 1000, 4),
        "consumers_cpu_ms_per_event": round(consumers_cpu / len(events) * 1000, 4),
        "wall_s": round(wall, 1),
        "events_per_s": round(eps, 1),
        "span_export_lines": spans,
        "load_start": round(load0, 2),
        "load_end": round(os.getloadavg()[0], 2),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    base = load_settings()
    keys = ROOT / "var" / "bench-keys"
    generate_local_keypair(keys)
    runs: list[dict[str, Any]] = []
    async with scratch_database(base.postgres.dsn.get_secret_value(), f"co_bench_otel_{uuid.uuid4().hex[:8]}") as dsn:
        for pair in range(args.pairs):
            order = (None, args.ratio) if pair % 2 == 0 else (args.ratio, None)
            for ratio in order:
                r = await one_run(base, dsn, keys, ratio, args)
                runs.append(r)
                print(
                    f"{'traced  ' if r['traced'] else 'untraced'}: {r['cpu_ms_per_event']:.3f} CPU-ms/event, "
                    f"{r['events_per_s']:,.0f} events/s, load {r['load_start']:.1f}",
                    file=sys.stderr,
                    flush=True,
                )
    traced = [r for r in runs if r["traced"]]
    plain = [r for r in runs if not r["traced"]]
    # pair each traced run with the untraced run next to it (same load conditions)
    pairs = list(zip(traced, plain, strict=True))
    ratios = [t["cpu_ms_per_event"] / u["cpu_ms_per_event"] for t, u in pairs]
    throughput_ratios = [t["events_per_s"] / u["events_per_s"] for t, u in pairs]
    median = statistics.median(ratios)

    def med(key: str, side: list[dict[str, Any]]) -> float:
        return round(statistics.median(r[key] for r in side), 4)

    return {
        "otel_sampling_ratio": args.ratio,
        "consumers": args.consumers,
        "runs": runs,
        "cpu_ms_per_event_untraced_median": med("cpu_ms_per_event", plain),
        "cpu_ms_per_event_traced_median": med("cpu_ms_per_event", traced),
        "ingest_cpu_ms_per_event_untraced_median": med("ingest_cpu_ms_per_event", plain),
        "ingest_cpu_ms_per_event_traced_median": med("ingest_cpu_ms_per_event", traced),
        "consumers_cpu_ms_per_event_untraced_median": med("consumers_cpu_ms_per_event", plain),
        "consumers_cpu_ms_per_event_traced_median": med("consumers_cpu_ms_per_event", traced),
        "cpu_ratio_traced_over_untraced_median": round(median, 3),
        "cpu_ratio_min": round(min(ratios), 3),
        "cpu_ratio_max": round(max(ratios), 3),
        "cpu_ratio_stdev": round(statistics.stdev(ratios), 3) if len(ratios) > 1 else 0.0,
        "events_per_s_untraced_median": med("events_per_s", plain),
        "events_per_s_traced_median": med("events_per_s", traced),
        "throughput_ratio_traced_over_untraced_median": round(statistics.median(throughput_ratios), 3),
        "throughput_ratio_min": round(min(throughput_ratios), 3),
        "throughput_ratio_max": round(max(throughput_ratios), 3),
        "target_ratio": TARGET_RATIO,
        "target_met": median <= TARGET_RATIO,
        "load_average": os.getloadavg(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ratio", type=float, default=0.1, help="sampling ratio of the traced runs")
    parser.add_argument("--pairs", type=int, default=4, help="traced/untraced pairs (alternating order)")
    parser.add_argument("--events", type=int, default=20_000, help="events per run")
    parser.add_argument("--consumers", type=int, default=2)
    parser.add_argument("--settle-s", type=float, default=5.0)
    parser.add_argument("--port", type=int, default=0, help="the ingest function's port (0: a free one)")
    parser.add_argument("--profile", type=Path, default=None, help="directory for cProfile output of every process")
    args = parser.parse_args()
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
    args.port = args.port or free_port()
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
