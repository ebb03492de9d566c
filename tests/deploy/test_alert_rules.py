"""The PrometheusRule's alerts, checked and unit-tested with promtool (Debian package `prometheus`;
skipped where promtool is not installed)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.deploy.manifests import by_kind, load_documents

HERE = Path(__file__).resolve().parent
ALERTS = {
    "GraphUpdaterLagGrowing",
    "DeadLetterStreamNotEmpty",
    "SchedulePermanentFailure",
    "ConnectorCircuitBreakerOpen",
}


def _rules() -> dict[str, object]:
    (rule,) = by_kind(load_documents(), "PrometheusRule")
    spec: dict[str, object] = rule.body["spec"]
    return spec


def test_every_alert_has_severity_summary_and_a_unit_test() -> None:
    alerts = [r for g in _rules()["groups"] for r in g["rules"] if "alert" in r]  # type: ignore[attr-defined]
    assert {a["alert"] for a in alerts} == ALERTS
    for a in alerts:
        assert a["labels"]["severity"] in {"warning", "critical"} and a["annotations"]["summary"], a["alert"]
    tested = {
        t["alertname"]
        for case in yaml.safe_load((HERE / "alert_rules_test.yaml").read_text())["tests"]
        for t in case["alert_rule_test"]
    }
    assert tested == ALERTS


@pytest.fixture()
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.skip("promtool not installed (apt-get install prometheus)")
    return path


def test_rules_pass_promtool_check_and_unit_tests(promtool: str, tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(_rules(), sort_keys=False))
    (tmp_path / "alert_rules_test.yaml").write_text((HERE / "alert_rules_test.yaml").read_text())
    check = subprocess.run([promtool, "check", "rules", "rules.yaml"], cwd=tmp_path, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "4 rules found" in check.stdout, check.stdout
    test = subprocess.run(
        [promtool, "test", "rules", "alert_rules_test.yaml"], cwd=tmp_path, capture_output=True, text=True
    )
    assert test.returncode == 0, test.stdout + test.stderr
    assert "SUCCESS" in test.stdout, test.stdout
