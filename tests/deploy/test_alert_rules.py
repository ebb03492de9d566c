"""The PrometheusRule's alerts (the one source of rules, also loaded by the local Prometheus),
checked and unit-tested with promtool (Debian package `prometheus`, installed by `./dev setup`;
skipped where promtool is not installed)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.deploy.manifests import by_kind, load_documents

HERE = Path(__file__).resolve().parent
RUNBOOK = HERE.parents[1] / "docs" / "observability.md"
ALERTS = {
    "HighRequestLatencyP95",
    "HighErrorRatio",
    "GraphUpdaterLagGrowing",
    "DeadLetterStreamNotEmpty",
    "MetricsRefreshStale",
    "SchedulePermanentFailure",
    "ConnectorCircuitBreakerOpen",
    "ApprovalAboutToExpire",
    "BackupStale",
    "WalArchiveStale",
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


def test_every_runbook_url_points_at_a_section_of_the_observability_doc() -> None:
    """Each alert's runbook_url names docs/observability.md and an anchor that the doc has."""
    headings = {line.lstrip("#").strip().lower() for line in RUNBOOK.read_text().splitlines() if line.startswith("#")}
    for group in _rules()["groups"]:  # type: ignore[attr-defined]
        for rule in group["rules"]:
            url = rule["annotations"]["runbook_url"]
            page, _, anchor = url.partition("#")
            assert page.endswith("/docs/observability.md"), url
            assert anchor == rule["alert"].lower() and anchor in headings, (rule["alert"], url)


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
    assert f"{len(ALERTS)} rules found" in check.stdout, check.stdout
    test = subprocess.run(
        [promtool, "test", "rules", "alert_rules_test.yaml"], cwd=tmp_path, capture_output=True, text=True
    )
    assert test.returncode == 0, test.stdout + test.stderr
    assert "SUCCESS" in test.stdout, test.stdout
