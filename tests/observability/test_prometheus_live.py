"""A real Prometheus and Alertmanager (Debian's, configured by ops/stack's own builders)
against the running functions and consumer:

- after traffic, every dashboard panel's query and every alert expression is valid when
  evaluated through Prometheus's HTTP API, and the request, lag and refresh ones return data;
- an alert fires for real: stop the consumer, keep ingesting, and Alertmanager delivers the lag
  alert to a webhook (a test-only copy of the shipped rule with a short ``for:`` and threshold).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import yaml

from ops.dashboards import panel_queries
from ops.processes import free_port, serve, settings_env, stop
from ops.stack.alertmanager import alertmanager_command, alertmanager_config
from ops.stack.prometheus import prometheus_command, prometheus_config, shipped_rules
from shared.platform.settings import Settings
from tests.api.conftest import bearer
from tests.conftest import ROOT
from tests.observability.conftest import events

LAG_ALERT = "GraphUpdaterLagGrowing"
# queries that must return data once the functions and the consumer have served traffic
MUST_HAVE_DATA = ("co_http_requests_total", "co_http_request_duration_seconds", "co_stream_lag", "co_metrics_refresh")

pytestmark = pytest.mark.skipif(
    not (shutil.which("prometheus") and shutil.which("prometheus-alertmanager")),
    reason="Debian's prometheus and prometheus-alertmanager are installed by ./dev setup",
)


class Webhook(ThreadingHTTPServer):
    """Alertmanager's receiver: keeps every notification it is sent."""

    def __init__(self) -> None:
        self.notifications: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.notifications.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/alerts"


def lag_rule_for_tests() -> dict[str, Any]:
    """The shipped lag rule with a short ``for:`` and a threshold of 0 (same expression otherwise)."""
    for group in shipped_rules()["groups"]:  # type: ignore[attr-defined]
        for rule in group["rules"]:
            if rule.get("alert") == LAG_ALERT:
                assert "> 1000" in rule["expr"] and rule["for"] == "5m"
                fast = {**rule, "expr": rule["expr"].replace("> 1000", "> 0"), "for": "3s"}
                return {"groups": [{"name": "test-only", "rules": [fast]}]}
    raise AssertionError(f"{LAG_ALERT} not shipped")


@pytest.fixture()
def webhook() -> Iterator[Webhook]:
    server = Webhook()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def start(command: list[str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)


def wait_ready(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()[-2000:]
        try:
            if httpx.get(f"http://127.0.0.1:{port}/-/ready", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"not ready: {log.read_text()[-2000:]}")


def query(prometheus: str, expr: str) -> dict[str, Any]:
    response = httpx.get(f"{prometheus}/api/v1/query", params={"query": expr}, timeout=10)
    body: dict[str, Any] = response.json()
    return body


def wait_for(predicate: Any, timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


async def record_refresh(settings: Settings) -> None:
    """One successful metrics refresh in the ledger, so the freshness figure exists."""
    conn = await asyncpg.connect(settings.postgres.dsn.get_secret_value())
    try:
        await conn.execute(
            "INSERT INTO metrics_refresh_runs (trigger, status, finished_at, duration_ms) "
            "VALUES ('test', 'succeeded', now(), 1234)"
        )
    finally:
        await conn.close()


def test_dashboards_and_alerts_evaluate_and_the_lag_alert_fires(
    api_settings: Settings, mint: object, tmp_path: Path, webhook: Webhook
) -> None:
    tag = uuid.uuid4().hex[:8]
    settings = api_settings.replace(
        **{"stream_name": f"test:{tag}:interactions", "dead_letter_stream": f"test:{tag}:dead"}
    )
    asyncio.run(record_refresh(settings))
    token = mint("service")  # type: ignore[operator]
    consumer_port, prom_port, am_port = free_port(), free_port(), free_port()
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(shipped_rules(), sort_keys=False))
    (tmp_path / "test_rules.yaml").write_text(yaml.safe_dump(lag_rule_for_tests(), sort_keys=False))
    (tmp_path / "alertmanager.yml").write_text(yaml.safe_dump(alertmanager_config(webhook.url, group_wait="1s")))
    consumer_env = {
        **os.environ,
        **settings_env(settings, service_name="graph-updater", consumer_metrics_port=consumer_port),
    }
    consumer = subprocess.Popen(
        [sys.executable, "-m", "functions.graph_updater.main", "--consumer", f"prom-{tag}"],
        cwd=ROOT,
        env=consumer_env,
        stderr=subprocess.DEVNULL,
    )
    processes: list[subprocess.Popen[bytes]] = [consumer]
    try:
        with serve("functions.dev_server.main:app", settings_env(settings, service_name="ingest-http")) as base:
            targets = {"functions": [base.removeprefix("http://")], "graph-updater": [f"127.0.0.1:{consumer_port}"]}
            config = prometheus_config(
                targets, ["rules.yaml", "test_rules.yaml"], f"127.0.0.1:{am_port}", interval="1s"
            )
            (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config, sort_keys=False))
            am_log, prom_log = tmp_path / "alertmanager.log", tmp_path / "prometheus.log"
            am_cmd = alertmanager_command(
                Path(shutil.which("prometheus-alertmanager") or ""),
                tmp_path / "alertmanager.yml",
                tmp_path / "am",
                am_port,
            )
            processes.append(start(am_cmd, tmp_path, am_log))
            prom_cmd = prometheus_command(
                Path(shutil.which("prometheus") or ""), tmp_path / "prometheus.yml", tmp_path / "data", prom_port
            )
            processes.append(start(prom_cmd, tmp_path, prom_log))
            wait_ready(am_port, processes[-2], am_log)
            wait_ready(prom_port, processes[-1], prom_log)
            prometheus = f"http://127.0.0.1:{prom_port}"

            # traffic the consumer keeps up with: accepted, applied, no backlog
            with httpx.Client(base_url=base, headers=bearer(token), timeout=30) as client:
                for _ in range(5):
                    assert client.post("/v1/events", json=events(2)).status_code == 202
                    client.get(f"/v1/analyses/{uuid.uuid4()}")  # a 404 on a templated route
                wait_for(
                    lambda: query(prometheus, 'sum(co_consumer_entries_total{outcome="applied"})')["data"]["result"],
                    60,
                    "the consumer's applied entries in Prometheus",
                )
                wait_for(
                    lambda: query(prometheus, "count(rate(co_http_requests_total[5m]) > 0)")["data"]["result"],
                    60,
                    "request rates",
                )

                # every panel query and alert expression is valid; the request/lag/refresh ones have data
                expressions = [(f"{uid}: {title}", expr) for uid, title, expr in panel_queries()]
                expressions += [
                    (f"alert {r['alert']}", r["expr"])
                    for g in shipped_rules()["groups"]  # type: ignore[attr-defined]
                    for r in g["rules"]
                ]
                empty_but_required = []
                for name, expr in expressions:
                    body = query(prometheus, expr)
                    assert body["status"] == "success", (name, expr, body)
                    # (an alert expression that holds nothing is a quiet alert, not a broken one)
                    if any(m in expr for m in MUST_HAVE_DATA) and not body["data"]["result"] and "alert" not in name:
                        empty_but_required.append(name)
                assert not empty_but_required, empty_but_required
                assert query(prometheus, 'up{job="graph-updater"}')["data"]["result"][0]["value"][1] == "1"

                # the lag alert fires for real: stop the consumer and keep ingesting
                consumer.send_signal(signal.SIGTERM)
                consumer.wait(timeout=30)

                def lag_alert_delivered() -> bool:
                    assert client.post("/v1/events", json=events(3)).status_code == 202
                    return any(
                        a["labels"].get("alertname") == LAG_ALERT and a["status"] == "firing"
                        for n in webhook.notifications
                        for a in n["alerts"]
                    )

                wait_for(lag_alert_delivered, 90, "Alertmanager to deliver the lag alert")
    finally:
        for proc in processes:
            stop(proc, 20)
    alert = next(a for n in webhook.notifications for a in n["alerts"] if a["labels"]["alertname"] == LAG_ALERT)
    assert alert["labels"]["stream"] == settings.ingest.stream_name and alert["labels"]["severity"] == "warning"
    assert alert["annotations"]["runbook_url"].endswith("#graphupdaterlaggrowing")
