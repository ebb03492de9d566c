"""`task bench:ingest`: HTTP request -> committed graph throughput and freshness, on real servers.

Runs the real ingest function (uvicorn) and graph updater consumers (subprocesses) against a
dedicated database, graph and stream, with real email-Eu-core events. Phases:
1. consumer batch throughput: events already on the stream, time to drain them;
2. sustained end-to-end at the maximum rate: HTTP batches as fast as accepted, until the graph
   has committed every event;
3. freshness at 175 events/s (10x the target organisation's 1.5 M/day) and at the maximum rate:
   accepted (202) -> the graph-updated notification naming a probe person (published after
   the graph write, so the degree is visible by then).
Prints human lines, then one JSON object on the last line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
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
import psutil
from pydantic import SecretStr

from ops.processes import free_port, uvicorn_args, wait_http
from ops.stack.config import ROOT
from ops.stack.supervisor import SERVERS
from shared.adapters.datasets import data_dir_for
from shared.adapters.graph import build_graph_store
from shared.adapters.postgres.databases import scratch_database
from shared.adapters.redis_pool import build_redis
from shared.adapters.streams import lag
from shared.domain.events import InteractionEvent, validation_context
from shared.domain.privacy import pseudonymise
from shared.platform.settings import Settings, load_settings
from shared.platform.tokens import generate_local_keypair, mint_token
from shared.services.ingest import accept_events, stream_names
from shared.services.replay import file_events

DATA = data_dir_for(ROOT)  # real data, never copied here


def cpu_seconds(procs: list[psutil.Process]) -> float:
    """User + system CPU of these processes, of their live children and of the children they have
    already reaped (PostgreSQL's backends come and go; their time stays in the postmaster's)."""
    total = 0.0
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            t = proc.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
            for child in proc.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    c = child.cpu_times()
                    total += c.user + c.system
    return total


def server_processes() -> list[psutil.Process]:
    """The local stack's Redis, FalkorDB and PostgreSQL (the servers a consumer batch works)."""
    procs = []
    for name in ("redis", "falkordb", "postgres"):
        proc = SERVERS[name].running()
        if proc is not None:
            procs.append(proc)
    return procs


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def events_from_data(count: int, tag: str) -> list[dict[str, Any]]:
    """Real email-Eu-core emails, repeated under new ids (and time-shifted) until ``count``."""
    base = [
        e
        for e in file_events(DATA / "email-Eu-core" / "email-Eu-core-temporal-first150days.txt", prefix="eu")
        if e["actor"] != e["participants"][0]
    ]
    out: list[dict[str, Any]] = []
    round_no = 0
    while len(out) < count:
        for e in base:
            if len(out) >= count:
                break
            out.append(e | {"event_id": f"{tag}-{round_no}-{e['event_id']}"})
        round_no += 1
    return out


def probe_event(tag: str, n: int) -> dict[str, Any]:
    return {
        "event_id": f"probe-{tag}-{n}",
        "kind": "chat",
        "actor": f"probe-{tag}-{n}",
        "participants": ["eu:1"],
        "occurred_at": (datetime.now(UTC) - timedelta(seconds=1)).isoformat(),
    }


class Bench:
    def __init__(self, settings: Settings, consumers: int) -> None:
        self.settings = settings
        self.consumers = consumers
        self.procs: list[subprocess.Popen[bytes]] = []
        self.python: list[str] = []  # interpreter options before ``-m`` (e.g. cProfile; %d: the consumer)
        self.env = dict(os.environ) | {
            "CO_PG_DSN": settings.postgres.dsn.get_secret_value(),
            "CO_GRAPH_NAME": settings.graph.name,
            "CO_STREAM_NAME": settings.ingest.stream_name,
            "CO_DEAD_LETTER_STREAM": settings.ingest.dead_letter_stream,
            "CO_JWT_PUBLIC_KEYS_DIR": str(settings.auth.public_keys_dir),
            "CO_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
        self.redis = build_redis(settings)

    def start_consumers(self, count: int | None = None) -> None:
        for i in range(self.consumers if count is None else count):
            self.procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        *(a.replace("%d", str(i)) for a in self.python),
                        "-m",
                        "functions.graph_updater.main",
                        "--consumer",
                        f"bench-{i}",
                    ],
                    cwd=ROOT,
                    env=self.env,
                    stdout=subprocess.DEVNULL,
                )
            )

    def stop_consumers(self) -> None:
        for p in self.procs:
            p.send_signal(signal.SIGTERM)
        for p in self.procs:
            p.wait(timeout=60)
        self.procs.clear()

    async def drained(self, timeout_s: float = 600) -> float:
        names = stream_names(self.settings)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            state = await lag(self.redis, names)
            if state["lag"] == 0 and state["pending"] == 0:
                return time.perf_counter()
            await asyncio.sleep(0.05)
        raise RuntimeError("stream not drained")

    async def entries_read(self) -> int:
        groups = await self.redis.xinfo_groups(self.settings.ingest.stream_name)
        return max((int(g.get("entries-read") or 0) for g in groups), default=0)

    async def first_read(self, before: int = 0) -> float:
        """When a consumer took its first entries (process start-up is not consumer throughput)."""
        while await self.entries_read() <= before:  # noqa: ASYNC110 - polling Redis, not an in-process flag
            await asyncio.sleep(0.01)
        return time.perf_counter()

    async def consumer_throughput(self, n: int) -> float:
        return (await self.consumer_run(n))["events_per_s"]

    async def consumer_run(self, n: int, consumers: int | None = None) -> dict[str, float]:
        """Drain ``n`` waiting events with ``consumers`` consumers: events/s, and the CPU seconds
        of the consumers and of the stack's servers (Redis, FalkorDB, PostgreSQL) meanwhile."""
        context = validation_context(datetime.now(UTC), 90)
        events = [InteractionEvent.model_validate(e, context=context) for e in events_from_data(n, uuid.uuid4().hex)]
        for i in range(0, n, 1000):
            await accept_events(self.settings, self.redis, events[i : i + 1000])
        before = await self.entries_read()
        self.start_consumers(consumers)
        children = [psutil.Process(p.pid) for p in self.procs]
        servers = server_processes()
        started = await self.first_read(before)
        consumer_cpu0, server_cpu0 = cpu_seconds(children), cpu_seconds(servers)
        await self.drained()
        elapsed = time.perf_counter() - started
        consumer_cpu, server_cpu = cpu_seconds(children) - consumer_cpu0, cpu_seconds(servers) - server_cpu0
        self.stop_consumers()
        return {
            "events_per_s": n / elapsed,
            "wall_s": elapsed,
            "consumer_cpu_s": consumer_cpu,
            "server_cpu_s": server_cpu,
            "events_per_consumer_cpu_s": n / consumer_cpu if consumer_cpu else float("nan"),
        }

    async def scaling_curve(self, n: int, counts: list[int]) -> dict[str, Any]:
        """The consumer scaling curve KEDA's thresholds are derived from (docs/capacity.md)."""
        out: dict[str, Any] = {}
        base = None
        for c in counts:
            run = await self.consumer_run(n, consumers=c)
            base = base or run["events_per_s"]
            run["scaling_efficiency"] = run["events_per_s"] / (c * base)  # 1.0 = linear
            for key, value in run.items():
                out[f"consumers_{c}_{key}"] = round(value, 3 if key == "scaling_efficiency" else 1)
            print(
                f"{c} consumer(s): {run['events_per_s']:,.0f} events/s, wall {run['wall_s']:.1f} s, "
                f"consumer CPU {run['consumer_cpu_s']:.1f} s ({run['events_per_consumer_cpu_s']:,.0f} events per "
                f"consumer CPU s), servers CPU {run['server_cpu_s']:.1f} s, scaling efficiency "
                f"{run['scaling_efficiency']:.2f}"
            )
        return out

    async def end_to_end(self, url: str, token: str, n: int, concurrency: int = 4) -> tuple[float, list[float]]:
        events = events_from_data(n, "e2e")
        freshness = await self._with_probes(url, token, events, rate=None, concurrency=concurrency)
        return freshness

    async def _with_probes(
        self, url: str, token: str, events: list[dict[str, Any]], rate: float | None, concurrency: int
    ) -> tuple[float, list[float]]:
        """Send ``events`` (+ one probe per batch); returns (events/s to committed graph, freshness s)."""
        key = self.settings.privacy.pseudonymisation_key
        accepted_at: dict[str, float] = {}
        seen_at: dict[str, float] = {}
        pubsub = self.redis.pubsub()
        await pubsub.subscribe(self.settings.graph.changed_channel)
        tag = uuid.uuid4().hex[:6]

        async def listen() -> None:
            async for message in pubsub.listen():
                if message["type"] != "message":
                    continue
                now = time.perf_counter()
                for person in json.loads(message["data"])["people"]:
                    seen_at.setdefault(person, now)  # may precede the 202 reaching the client

        listener = asyncio.create_task(listen())
        batch_size = 999 if rate is None else max(1, int(rate / 10))  # + 1 probe <= 1,000
        batches = [events[i : i + batch_size] for i in range(0, len(events), batch_size)]
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        # the producer encodes its requests before the clock starts (a real producer does that on
        # its own machine; here it would steal the two cores from the system under test)
        bodies: list[tuple[str, bytes]] = []
        for n, batch in enumerate(batches):
            probe = probe_event(tag, n)
            bodies.append((pseudonymise(probe["actor"], key), json.dumps({"events": [*batch, probe]}).encode()))
        queue: asyncio.Queue[tuple[str, bytes] | None] = asyncio.Queue(maxsize=concurrency)
        started = time.perf_counter()

        async def sender(client: httpx.AsyncClient) -> None:
            while (item := await queue.get()) is not None:
                probe_id, body = item
                r = await client.post(url, content=body, headers=headers)
                for _ in range(10):  # a producer retries a 503 (a dependency timed out under load)
                    if r.status_code != 503:
                        break
                    await asyncio.sleep(float(r.headers.get("retry-after") or 1))
                    r = await client.post(url, content=body, headers=headers)
                if r.status_code != 202:
                    raise RuntimeError(f"ingest answered {r.status_code}: {r.text[:300]}")
                accepted_at[probe_id] = time.perf_counter()

        async with httpx.AsyncClient(timeout=60) as client:
            workers = [asyncio.create_task(sender(client)) for _ in range(concurrency)]
            for n, item in enumerate(bodies):
                failed = [w for w in workers if w.done()]
                if failed:
                    await failed[0]  # re-raise the sender's error instead of blocking on a full queue
                if rate is not None:
                    due = started + n * batch_size / rate
                    delay = due - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                await queue.put(item)
            for _ in workers:
                await queue.put(None)
            await asyncio.gather(*workers)
        done = await self.drained()
        await asyncio.sleep(0.3)
        listener.cancel()
        await pubsub.aclose()
        total = len(events) + len(batches)
        # visible before the client even read its 202 counts as 0
        fresh = [max(0.0, seen_at[p] - accepted_at[p]) for p in accepted_at if p in seen_at]
        if len(fresh) != len(accepted_at):
            raise RuntimeError(f"{len(accepted_at) - len(fresh)} probes never became visible")
        return total / (done - started), fresh


async def run(args: argparse.Namespace) -> dict[str, Any]:
    base = load_settings()
    run_tag = uuid.uuid4().hex[:8]
    async with scratch_database(base.postgres.dsn.get_secret_value(), f"co_bench_{run_tag}") as dsn:
        return await measure(args, base, run_tag, dsn)


async def measure(args: argparse.Namespace, base: Settings, run_tag: str, dsn: str) -> dict[str, Any]:
    keys = ROOT / "var" / "bench-keys"
    generate_local_keypair(keys)
    settings = base.replace(
        **{
            "pg_dsn": SecretStr(dsn),
            "graph_name": f"bench_{run_tag}",
            "stream_name": f"bench:{run_tag}",
            "dead_letter_stream": f"bench:{run_tag}:dead",
            "jwt_public_keys_dir": keys / "jwt_public",
            "jwt_private_key_file": keys / "jwt_private.pem",
        }
    )
    graph = build_graph_store(settings)
    await graph.ensure_schema()
    bench = Bench(settings, args.consumers)
    result: dict[str, Any] = {"consumers": args.consumers, "otel_sampling_ratio": args.otel_ratio}
    if args.otel_ratio is not None:  # tracing on in the ingest function and the consumers
        span_dir = Path(tempfile.mkdtemp(prefix="bench-spans-"))
        bench.env |= {"CO_OTEL_SPAN_DIR": str(span_dir), "CO_OTEL_SAMPLING_RATIO": str(args.otel_ratio)}
        print(f"tracing at a {args.otel_ratio:.0%} sampling ratio, spans in {span_dir}")
    port = free_port()
    api = subprocess.Popen(
        [sys.executable, *uvicorn_args("functions.ingest_http.main:app", port)], cwd=ROOT, env=bench.env
    )
    url = f"http://127.0.0.1:{port}/v1/events"
    try:
        await wait_http(f"http://127.0.0.1:{port}/health/live", status=200)
        token = mint_token(settings, subject="bench", roles=["service"])
        rate = await bench.consumer_throughput(args.consumer_events)
        result["consumer_events_per_s"] = round(rate, 1)
        print(f"consumer batch throughput: {rate:,.0f} events/s ({args.consumer_events} events)")
        if args.scaling:
            consumer_counts = [int(c) for c in args.scaling.split(",")]
            result |= await bench.scaling_curve(args.scaling_events, consumer_counts)
        if args.scaling_only:
            return result

        bench.start_consumers()
        eps, fresh_max = await bench.end_to_end(url, token, args.events)
        result["events_per_s"] = round(eps, 1)
        result["freshness_max_rate_p50_ms"] = round(pct(fresh_max, 0.5) * 1000, 1)
        result["freshness_max_rate_p95_ms"] = round(pct(fresh_max, 0.95) * 1000, 1)
        result["freshness_max_rate_p99_ms"] = round(pct(fresh_max, 0.99) * 1000, 1)
        print(f"sustained HTTP -> committed graph: {eps:,.0f} events/s ({args.events} events)")

        n_slow = int(175 * args.slow_seconds)
        eps_slow, fresh = await bench._with_probes(
            url, token, events_from_data(n_slow, "slow"), rate=175.0, concurrency=2
        )
        result["rate_175_events_per_s"] = round(eps_slow, 1)
        result["freshness_p50_ms"] = round(pct(fresh, 0.5) * 1000, 1)
        result["freshness_p95_ms"] = round(pct(fresh, 0.95) * 1000, 1)
        result["freshness_p99_ms"] = round(pct(fresh, 0.99) * 1000, 1)
        result["freshness_samples"] = len(fresh)
        print(
            f"freshness at 175 events/s: p50 {statistics.median(fresh) * 1000:.0f} ms, "
            f"p95 {result['freshness_p95_ms']} ms"
        )
        counts = await graph.counts()
        result["graph_ties"] = counts.ties
    finally:
        bench.stop_consumers()
        api.terminate()
        api.wait(timeout=15)
        await graph.clear()
        await graph.close()
        await bench.redis.delete(settings.ingest.stream_name, settings.ingest.dead_letter_stream)
        await bench.redis.aclose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--consumer-events", type=int, default=100_000)
    parser.add_argument("--consumers", type=int, default=3)
    parser.add_argument("--scaling", default="1,2,4", help="consumer counts for the scaling curve ('' to skip)")
    parser.add_argument("--scaling-events", type=int, default=60_000, help="backlog drained per point of the curve")
    parser.add_argument("--scaling-only", action="store_true", help="stop after the scaling curve")
    parser.add_argument("--slow-seconds", type=float, default=30.0)
    parser.add_argument(
        "--otel-ratio", type=float, default=None, help="trace at this sampling ratio (spans to files); off by default"
    )
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
