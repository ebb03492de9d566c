"""Demo stage: what the local Prometheus and Alertmanager see of the running demo
(targets, the project's alert rules, request figures, alerts). See docs/observability.md."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import httpx

HOST = "127.0.0.1"


def _get(port: int, path: str, **params: str) -> Any:
    return httpx.get(f"http://{HOST}:{port}{path}", params=params, timeout=5).json()


async def demo_stage(resources: Any, out: Callable[[str], None]) -> None:
    prometheus = int(os.environ.get("CO_PROMETHEUS_PORT", "9090"))
    alertmanager = int(os.environ.get("CO_ALERTMANAGER_PORT", "9093"))
    try:
        targets = _get(prometheus, "/api/v1/targets")["data"]["activeTargets"]
        rules = _get(prometheus, "/api/v1/rules")["data"]["groups"]
        requests = _get(prometheus, "/api/v1/query", query="sum by (route) (co_http_requests_total)")["data"]
        alerts = _get(alertmanager, "/api/v2/alerts")
    except (httpx.HTTPError, KeyError, ValueError) as exc:
        out(f"local Prometheus/Alertmanager not answering ({type(exc).__name__}): `./dev up` starts them")
        return
    up = sorted(t["labels"]["job"] for t in targets if t["health"] == "up")
    down = sorted(t["labels"]["job"] for t in targets if t["health"] != "up")
    out(f"Prometheus on :{prometheus} scrapes {len(targets)} targets; up: {', '.join(up) or '-'}")
    if down:
        out(f"  not running (or not serving /metrics): {', '.join(down)}")
    names = [r["name"] for g in rules for r in g["rules"]]
    out(f"alert rules loaded from knative/monitoring.yaml: {len(names)} ({', '.join(names)})")
    top = sorted(requests["result"], key=lambda r: -float(r["value"][1]))[:5]
    for row in top:
        out(f"  requests seen on {row['metric'].get('route', '?')}: {float(row['value'][1]):,.0f}")
    if not top:
        out("  no request figures yet (Prometheus scrapes the dev server at CO_API_BASE_URL every 15 s)")
    firing = [a["labels"]["alertname"] for a in alerts if a.get("status", {}).get("state") == "active"]
    out(f"Alertmanager on :{alertmanager}: {len(firing)} active alert(s) {', '.join(firing)}")
    out("every response carries X-Trace-Id when CO_OTLP_ENDPOINT or CO_OTEL_SPAN_DIR is set; logs are JSON")
