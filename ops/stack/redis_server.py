"""Plain redis-server for streams, cache, rate limits and pub/sub (AOF: streams survive restarts)."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import psutil
import redis

from ops.stack.config import HOST, RUN, falkordb_paths
from ops.stack.server import Server


class Redis(Server):
    name = "redis"
    port_key = "redis"
    ready_timeout = 30.0
    stop_timeout = 20.0

    def exe(self) -> Path:
        return falkordb_paths()[0]

    def extra_config(self) -> list[str]:
        return []

    def client(self, timeout: float = 2.0) -> redis.Redis:
        """A one-connection client for probes and admin commands (closed by the caller)."""
        return redis.Redis(host=HOST, port=self.port, socket_timeout=timeout, socket_connect_timeout=timeout)

    def prepare(self) -> None:
        conf = [
            f"bind {HOST}",
            "protected-mode yes",
            f"port {self.port}",
            f"dir {self.workdir}",
            'logfile ""',
            "daemonize no",
            "appendonly yes",
            "appendfsync everysec",
            "save 3600 1 300 100 60 10000",
            "dbfilename dump.rdb",
            # FalkorDB replays every logged GRAPH.QUERY on start (12 MB of AOF took 16 s, the same
            # graph as RDB 0.3 MB loads at once): compact early and often into an RDB-preamble base.
            "aof-use-rdb-preamble yes",
            "auto-aof-rewrite-percentage 100",
            "auto-aof-rewrite-min-size 4mb",
            *self.extra_config(),
        ]
        (RUN / f"{self.name}.conf").write_text("\n".join(conf) + "\n")

    def command(self) -> list[str]:
        return [str(self.exe()), str(RUN / f"{self.name}.conf")]

    def probe(self) -> None:
        with self.client() as client:
            if client.ping() is not True:
                raise RuntimeError("no PONG")

    def stop(self, proc: psutil.Process) -> None:
        """Compact the AOF first so the next start loads an RDB base instead of replaying commands."""
        with contextlib.suppress(redis.RedisError, OSError), self.client(timeout=5) as client:
            with contextlib.suppress(redis.ResponseError):  # "already in progress" is fine: wait for it
                client.bgrewriteaof()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                info = client.info("persistence")
                if info.get("aof_rewrite_in_progress") == 0 and info.get("aof_rewrite_scheduled") == 0:
                    break
                time.sleep(0.1)
        super().stop(proc)
