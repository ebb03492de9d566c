"""Alertmanager, Debian's: receives the local Prometheus's alerts (CO_ALERTMANAGER_WEBHOOK_URL forwards them)."""

from __future__ import annotations

import os
from pathlib import Path

from ops.stack.config import HOST
from ops.stack.prometheus import http_ready, write_yaml
from ops.stack.server import Server


def alertmanager_config(webhook_url: str | None, *, group_wait: str = "30s") -> dict[str, object]:
    """An alertmanager.yml: every alert to one webhook receiver, or to none (then only the UI shows it)."""
    receiver: dict[str, object] = {"name": "default"}
    if webhook_url:
        receiver["webhook_configs"] = [{"url": webhook_url, "send_resolved": True}]
    return {
        "route": {
            "receiver": "default",
            "group_by": ["alertname"],
            "group_wait": group_wait,
            "group_interval": group_wait,
            "repeat_interval": "4h",
        },
        "receivers": [receiver],
    }


def alertmanager_command(binary: Path, config: Path, data: Path, listen_port: int) -> list[str]:
    return [
        str(binary),
        f"--config.file={config}",
        f"--storage.path={data}",
        f"--web.listen-address={HOST}:{listen_port}",
        "--cluster.listen-address=",  # one instance: no gossip port
    ]


class Alertmanager(Server):
    """Receives the local Prometheus's alerts; CO_ALERTMANAGER_WEBHOOK_URL forwards them to a webhook."""

    name = "alertmanager"
    port_key = "alertmanager"
    binary = ("prometheus-alertmanager", "Debian prometheus-alertmanager")
    ready_timeout = 30.0

    def prepare(self) -> None:
        write_yaml(
            self.workdir / "alertmanager.yml", alertmanager_config(os.environ.get("CO_ALERTMANAGER_WEBHOOK_URL"))
        )

    def command(self) -> list[str]:
        return alertmanager_command(self.exe(), self.workdir / "alertmanager.yml", self.workdir / "data", self.port)

    def probe(self) -> None:
        http_ready(self.port)
