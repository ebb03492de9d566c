#!/usr/bin/env python3
"""Optional stack profile: a Spark standalone cluster (one master, two workers) on this machine.

    python -m ops.stack.spark up | down | status | env      (./dev spark:up, ./dev spark:down)

Started from the pyspark distribution's own launcher (``bin/spark-class`` with the standalone
Master and Worker classes), so the cluster runs exactly the Spark version the engine links
against. Each worker offers one core and a small amount of memory (two 512m executors fit on
this 2-core machine next to the rest of the stack). The analysis engine uses it when
``CO_SPARK_MASTER`` is ``spark://127.0.0.1:$CO_SPARK_MASTER_PORT`` (`env` prints that line).
Ports come from CO_SPARK_*_PORT variables (by default at fixed offsets from the checkout's
CO_S3_PORT, like the other derived ports); data and logs live under var/ like every server's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import urllib.request
from pathlib import Path

from ops.stack.config import HOST, StackError, derived_port, say
from ops.stack.server import Server
from ops.stack.supervisor import bring_down, bring_up, parallel, stack_lock

PORTS: dict[str, tuple[str, int]] = {
    "spark_master": ("CO_SPARK_MASTER_PORT", 7077),
    "spark_master_ui": ("CO_SPARK_MASTER_UI_PORT", 8090),
    "spark_worker1": ("CO_SPARK_WORKER1_PORT", 7078),
    "spark_worker1_ui": ("CO_SPARK_WORKER1_UI_PORT", 8091),
    "spark_worker2": ("CO_SPARK_WORKER2_PORT", 7079),
    "spark_worker2_ui": ("CO_SPARK_WORKER2_UI_PORT", 8092),
}
S3_OFFSETS = {key: 52 + i for i, key in enumerate(PORTS)}  # CO_S3_PORT + 52..57
WORKER_CORES = 1
WORKER_MEMORY = "1g"  # room for one 512m executor plus its overhead
DAEMON_MEMORY = "256m"  # heap of the master and worker daemons themselves


def port(key: str) -> int:
    env, default = PORTS[key]
    return derived_port(env, S3_OFFSETS[key], default)


def master_url() -> str:
    return f"spark://{HOST}:{port('spark_master')}"


def master_state(timeout: float = 2.0) -> dict[str, object]:
    """The master's JSON status page (workers, cores in use, applications)."""
    url = f"http://{HOST}:{port('spark_master_ui')}/json/"
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return dict(json.loads(r.read()))


def spark_home() -> Path:
    import pyspark  # the distribution ships bin/spark-class and the jars

    return Path(pyspark.__file__).resolve().parent


def java_binary() -> Path:
    java = shutil.which("java")
    if java is None:
        raise StackError("spark: no java on PATH (the Spark engine needs a JDK 17)")
    return Path(os.path.realpath(java))


class SparkDaemon(Server):
    """A Spark daemon: spark-class execs java, so java with our work directory is the process."""

    ready_timeout = 120.0
    ui_key = ""

    def ports(self) -> list[int]:
        return [self.port, port(self.ui_key)]

    @property
    def port(self) -> int:
        return port(self.port_key)

    def exe(self) -> Path:
        return java_binary()

    def environment(self) -> dict[str, str]:
        home = spark_home()
        return dict(os.environ) | {
            "SPARK_HOME": str(home),
            "SPARK_LOCAL_IP": HOST,
            "SPARK_DAEMON_MEMORY": DAEMON_MEMORY,
            "SPARK_LOG_DIR": str(self.workdir),
            "SPARK_NO_DAEMONIZE": "1",
        }

    def daemon_command(self, main_class: str, *options: str) -> list[str]:
        """spark-class running ``main_class`` on our host, RPC port and web UI port, then ``options``."""
        launcher = str(spark_home() / "bin" / "spark-class")
        return [
            launcher,
            main_class,
            "--host",
            HOST,
            "--port",
            str(self.port),
            "--webui-port",
            str(port(self.ui_key)),
            *options,
        ]


class SparkMaster(SparkDaemon):
    name = "spark-master"
    port_key = "spark_master"
    ui_key = "spark_master_ui"

    def command(self) -> list[str]:
        return self.daemon_command("org.apache.spark.deploy.master.Master")

    def environment(self) -> dict[str, str]:
        # no REST submission server (it would accept jobs from anyone who reaches port 6066)
        return super().environment() | {"SPARK_MASTER_OPTS": "-Dspark.master.rest.enabled=false"}

    def probe(self) -> None:
        if master_state().get("status") != "ALIVE":
            raise StackError("spark master not ALIVE yet")


class SparkWorker(SparkDaemon):
    def __init__(self, number: int) -> None:
        self.number = number
        self.name = f"spark-worker{number}"
        self.port_key = f"spark_worker{number}"
        self.ui_key = f"spark_worker{number}_ui"

    def command(self) -> list[str]:
        return self.daemon_command(
            "org.apache.spark.deploy.worker.Worker",
            "--cores",
            str(WORKER_CORES),
            "--memory",
            WORKER_MEMORY,
            "--work-dir",
            str(self.workdir / "work"),
            master_url(),
        )

    def probe(self) -> None:
        """Registered with the master and ALIVE there."""
        workers = master_state().get("workers")
        assert isinstance(workers, list)
        if not any(w.get("port") == self.port and w.get("state") == "ALIVE" for w in workers):
            raise StackError(f"{self.name} not registered with the master yet")


def servers() -> list[Server]:
    return [SparkMaster(), SparkWorker(1), SparkWorker(2)]


def up(quiet: bool = False) -> str:
    """Start the master, then both workers (idempotent); returns the master URL."""
    master, *workers = servers()
    with stack_lock():
        what, secs = bring_up(master)
        if not quiet:
            say(f"  {master.name:<14} ready in {secs:6.2f} s  port {master.port:<5}  {what}")
        for name, result in parallel(workers, bring_up).items():
            if isinstance(result, Exception):
                raise result
            if not quiet:
                say(f"  {name:<14} ready in {result[1]:6.2f} s  {result[0]}")  # type: ignore[index]
    return master_url()


def down(quiet: bool = False) -> None:
    """Stop what `up` started: workers first (they would otherwise keep reconnecting)."""
    master, *workers = servers()
    with stack_lock():
        for server in [*workers, master]:
            what = bring_down(server)
            if not quiet:
                say(f"  {server.name:<14} {what}")


def status() -> dict[str, object]:
    out: dict[str, object] = {}
    for server in servers():
        proc = server.running()
        out[server.name] = {"pid": proc.pid if proc else None, "port": server.port, "running": proc is not None}
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ops.stack.spark", description=__doc__.splitlines()[0])
    parser.add_argument("cmd", choices=["up", "down", "status", "env"])
    args = parser.parse_args(argv)
    try:
        if args.cmd == "up":
            up()
        elif args.cmd == "down":
            down()
        elif args.cmd == "status":
            print(json.dumps(status()))
        else:
            print(f"export CO_SPARK_MASTER={master_url()} CO_SPARK_DRIVER_HOST={HOST}")
    except StackError as exc:
        say(f"error: {exc}", err=True)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
