"""Prometheus, Debian's (ops/install_promtool.sh installs it and Alertmanager).

The rules are the PrometheusRule of knative/monitoring.yaml, extracted on every start: one source of
rules. The config builders are also used by tests/observability to run a Prometheus of their own.
"""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path

import yaml

from ops.stack.config import HOST, ROOT, StackError, port
from ops.stack.server import Server, http_get

MONITORING_MANIFEST = ROOT / "knative" / "monitoring.yaml"
# processes that serve /metrics when run locally, by job name -> (port env var, default)
LOCAL_METRICS_PORTS: dict[str, tuple[str, int]] = {
    "graph-updater": ("CO_CONSUMER_METRICS_PORT", 9464),
    "temporal-worker": ("CO_WORKER_METRICS_PORT", 9465),
    "temporal-worker-sdk": ("CO_WORKER_SDK_METRICS_PORT", 9466),
}


def shipped_rules() -> dict[str, object]:
    """The ``spec`` of the PrometheusRule in knative/monitoring.yaml (a Prometheus rule file)."""
    for doc in yaml.safe_load_all(MONITORING_MANIFEST.read_text()):
        if doc and doc.get("kind") == "PrometheusRule":
            spec: dict[str, object] = doc["spec"]
            return spec
    raise StackError(f"no PrometheusRule in {MONITORING_MANIFEST}")


def local_scrape_targets() -> dict[str, list[str]]:
    """Job name -> host:port of every local process that serves /metrics (down ones just show as down)."""
    api = urllib.parse.urlsplit(os.environ.get("CO_API_BASE_URL", "http://127.0.0.1:8000"))
    targets = {
        "prometheus": [f"{HOST}:{port('prometheus')}"],
        "alertmanager": [f"{HOST}:{port('alertmanager')}"],
        "temporal-server": [f"{HOST}:{port('temporal_metrics')}"],
        "functions": [f"{api.hostname or HOST}:{api.port or 80}"],
        "backup-exporter": [f"{HOST}:{port('backup_exporter')}"],  # co_backup_* freshness
    }
    for job, (env, default) in LOCAL_METRICS_PORTS.items():
        targets[job] = [f"{HOST}:{int(os.environ.get(env, default))}"]
    return targets


def prometheus_config(
    targets: dict[str, list[str]],
    rule_files: list[str],
    alertmanager: str,
    *,
    interval: str = "15s",
) -> dict[str, object]:
    """A prometheus.yml: the given scrape jobs, rule files and one Alertmanager (also used by tests)."""
    return {
        "global": {"scrape_interval": interval, "evaluation_interval": interval, "external_labels": {"stack": "local"}},
        "rule_files": rule_files,
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]},
        "scrape_configs": [
            {"job_name": job, "metrics_path": "/metrics", "static_configs": [{"targets": hosts}]}
            for job, hosts in targets.items()
        ],
    }


def prometheus_command(binary: Path, config: Path, data: Path, listen_port: int) -> list[str]:
    return [
        str(binary),
        f"--config.file={config}",
        f"--storage.tsdb.path={data}",
        "--storage.tsdb.retention.time=7d",
        f"--web.listen-address={HOST}:{listen_port}",
        "--web.enable-lifecycle",  # POST /-/reload after editing the rules
    ]


def http_ready(port_: int, path: str = "/-/ready") -> None:
    http_get(port_, path)


def write_yaml(path: Path, body: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# written by ops.stack on every start\n" + yaml.safe_dump(body, sort_keys=False))


class Prometheus(Server):
    """Scrapes every local /metrics (see local_scrape_targets) and evaluates the shipped rules."""

    name = "prometheus"
    port_key = "prometheus"
    binary = ("prometheus", "Debian prometheus (ops/install_promtool.sh)")
    ready_timeout = 60.0

    def prepare(self) -> None:
        write_yaml(self.workdir / "rules.yaml", shipped_rules())
        config = prometheus_config(local_scrape_targets(), ["rules.yaml"], f"{HOST}:{port('alertmanager')}")
        write_yaml(self.workdir / "prometheus.yml", config)

    def command(self) -> list[str]:
        return prometheus_command(self.exe(), self.workdir / "prometheus.yml", self.workdir / "data", self.port)

    def probe(self) -> None:
        http_ready(self.port)
