"""The Grafana dashboards ConfigMap is exactly what ops/dashboards.py generates, and covers the
five views the operators need (each query is evaluated by test_prometheus_live.py)."""

from __future__ import annotations

import json

import yaml

from ops.dashboards import DASHBOARDS, configmap, panel_queries
from tests.deploy.manifests import ROOT

CONFIGMAP = ROOT / "knative" / "grafana-dashboards.yaml"


def test_configmap_is_generated_from_the_code() -> None:
    assert CONFIGMAP.read_text() == configmap(), "run `task dashboards` and commit knative/grafana-dashboards.yaml"


def test_every_dashboard_is_valid_grafana_json_with_queries() -> None:
    doc = yaml.safe_load(CONFIGMAP.read_text())
    assert doc["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert set(doc["data"]) == {f"{uid}.json" for uid in DASHBOARDS}
    for name, text in doc["data"].items():
        board = json.loads(text)
        assert board["uid"] == name.removesuffix(".json") and board["panels"]
        ids = [p["id"] for p in board["panels"]]
        assert len(ids) == len(set(ids))
        assert all(t["expr"] and t["refId"] for p in board["panels"] for t in p["targets"])
    exprs = [expr for _, _, expr in panel_queries()]
    for metric in ("co_http_request_duration_seconds_bucket", "co_stream_lag", "co_approval_backlog", "co_pool_in_use"):
        assert any(metric in e for e in exprs), metric
