"""The supervisor: which servers the stack has, and bringing them up and down together.

`up` and `down` are idempotent; `down` only ever stops processes whose executable and working
directory prove they are ours.
"""

from __future__ import annotations

import contextlib
import fcntl
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import psutil

from ops.stack import pgbackrest
from ops.stack.alertmanager import Alertmanager
from ops.stack.backup_exporter import BackupExporter
from ops.stack.config import PORTS, RUN, SECRETS, StackError, ensure_dirs, ensure_secrets, port, say
from ops.stack.falkordb_server import FalkorDB
from ops.stack.postgres import Postgres
from ops.stack.prometheus import Prometheus
from ops.stack.redis_server import Redis
from ops.stack.seaweedfs import SeaweedS3
from ops.stack.server import Server
from ops.stack.temporal import Temporal

SERVERS: dict[str, Server] = {
    s.name: s
    for s in (FalkorDB(), Redis(), Postgres(), Temporal(), SeaweedS3(), Prometheus(), Alertmanager(), BackupExporter())
}


def stack_postgres() -> Postgres:
    """The stack's own PostgreSQL (its data directory and backup cluster)."""
    postgres = SERVERS["postgres"]
    assert isinstance(postgres, Postgres)
    return postgres


def backup_after_up(names: list[str]) -> None:
    """Once PostgreSQL and S3 both answer: the backup bucket and pgBackRest stanza (idempotent)."""
    wanted = set(names or SERVERS)
    if not {"postgres", "s3"} <= wanted:
        return
    pgbackrest.ensure_bucket()
    cluster = stack_postgres().backup_cluster()
    cluster.write_config(SECRETS)  # also when PostgreSQL was already running: the settings may have changed
    try:
        pgbackrest.stanza_create(cluster)
    except RuntimeError as exc:
        raise StackError(f"backups: {exc}") from exc


@contextlib.contextmanager
def stack_lock() -> Iterator[None]:
    """Serialise up/down/bench so two callers never start the same server twice."""
    ensure_dirs()
    with open(RUN / "stack.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def select(names: list[str]) -> list[Server]:
    unknown = [n for n in names if n not in SERVERS]
    if unknown:
        raise StackError(f"unknown server(s) {', '.join(unknown)}; choose from {', '.join(SERVERS)}")
    return [SERVERS[n] for n in (names or SERVERS)]


def check_port_config() -> None:
    seen: dict[int, str] = {}
    for key in PORTS:
        p = port(key)
        extra = [p, p + 10000] if key.startswith(("s3", "seaweed")) else [p]
        for q in extra:
            if not 0 < q < 65536:
                raise StackError(f"port {q} for {key} is out of range; fix {PORTS[key][0]}")
            if q in seen:
                raise StackError(f"port {q} is configured twice ({seen[q]} and {key}); fix the CO_*_PORT variables")
            seen[q] = key


def bring_up(server: Server) -> tuple[str, float]:
    """Start one server unless it runs already; return (what happened, seconds until it answered)."""
    t0 = time.monotonic()
    proc = server.running()
    if proc is not None:
        server.pidfile.write_text(f"{proc.pid}\n")
        what = f"already running (pid {proc.pid})"
    else:
        server.pidfile.unlink(missing_ok=True)
        server.check_ports()
        server.prepare()
        server.start()
        what = f"started (pid {server.recorded_pid()})"
    server.after_start()  # idempotent; runs on every up so the role/databases match var/secrets
    server.wait_ready(server.ready_timeout if proc is None else min(server.ready_timeout, 30))
    return what, time.monotonic() - t0


def parallel(servers: list[Server], fn: Callable[[Server], object]) -> dict[str, object | Exception]:
    results: dict[str, object | Exception] = {}
    with ThreadPoolExecutor(max_workers=max(1, len(servers))) as pool:
        futures = {s.name: pool.submit(fn, s) for s in servers}
        for name, fut in futures.items():
            try:
                results[name] = fut.result()
            except Exception as exc:
                results[name] = exc
    return results


def cmd_up(names: list[str], quiet: bool = False) -> dict[str, float]:
    ensure_secrets()
    check_port_config()
    servers = select(names)
    t0 = time.monotonic()

    def one(s: Server) -> float:
        what, secs = bring_up(s)
        if not quiet:
            say(f"  {s.name:<9} ready in {secs:6.2f} s  port {s.port:<5}  {what}")
        return secs

    results = parallel(servers, one)
    failures = [(n, r) for n, r in results.items() if isinstance(r, Exception)]
    for name, exc in failures:
        msg = str(exc) if isinstance(exc, StackError) else f"{name}: {type(exc).__name__}: {exc}"
        say(f"FAILED {msg}\n  log: {SERVERS[name].log}", err=True)
    if failures:
        raise SystemExit(1)
    try:
        backup_after_up(names)
    except StackError as exc:
        say(f"FAILED {exc}", err=True)
        raise SystemExit(1) from None
    if not quiet:
        say(f"stack ready in {time.monotonic() - t0:.2f} s (`python -m ops.stack env` prints the settings)")
    return {n: float(r) for n, r in results.items()}  # type: ignore[arg-type]


def bring_down(server: Server) -> str:
    proc = server.running()
    if proc is None:
        server.pidfile.unlink(missing_ok=True)
        return "not running"
    t0 = time.monotonic()
    server.stop(proc)
    with contextlib.suppress(psutil.Error):  # pg_ctl returns when the pid file is gone, a moment before the exit
        proc.wait(timeout=10)
    if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
        raise StackError(f"{server.name}: pid {proc.pid} still running after stop")
    server.pidfile.unlink(missing_ok=True)
    return f"stopped pid {proc.pid} in {time.monotonic() - t0:.1f} s"


def cmd_down(names: list[str], quiet: bool = False) -> None:
    servers = select(names)
    # PostgreSQL archives its last WAL segment to S3 (pgBackRest) while it shuts down: stop it
    # first, or its shutdown waits out pgBackRest's timeout against a stopped S3 (measured 62 s)
    first = [s for s in servers if s.name == "postgres"]
    results = parallel(first, bring_down) if first else {}
    results |= parallel([s for s in servers if s.name != "postgres"], bring_down)
    failed = False
    for name, r in results.items():
        if isinstance(r, Exception):
            failed = True
            say(f"FAILED {r}", err=True)
        elif not quiet:
            say(f"  {name:<9} {r}")
    if failed:
        raise SystemExit(1)


def tree_memory(proc: psutil.Process) -> tuple[float, float]:
    """RSS and PSS in MB of a process and its children (PSS does not double-count shared pages)."""
    rss = pss = 0
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            rss += p.memory_info().rss
            try:
                pss += p.memory_full_info().pss
            except (psutil.Error, AttributeError):
                pss += p.memory_info().rss
    return rss / 2**20, pss / 2**20


def tree_cpu_seconds(proc: psutil.Process) -> float:
    """User + system CPU seconds of a process, its live children and the children it has reaped."""
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            t = p.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
    return total


def collect_status() -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    for s in SERVERS.values():
        proc = s.running()
        rss = tree_memory(proc)[0] if proc else 0.0
        out[s.name] = {
            "up": proc is not None,
            "pid": proc.pid if proc else None,
            "port": s.port,
            "rss_mb": round(rss, 1),
            "log": str(s.log),
        }
    return out
