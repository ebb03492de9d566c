"""The PrometheusRule's alerts (the one source of rules, also loaded by the local Prometheus),
checked and unit-tested with promtool (Debian package `prometheus`, installed by `./dev setup`;
skipped where promtool is not installed)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.deploy.manifests import by_kind, load_documents

HERE = Path(__file__).resolve().parent
RUNBOOK = HERE.parents[1] / "docs" / "runbooks" / "incidents.md"
ALERTS = {
    "HighRequestLatencyP95",
    "HighErrorRatio",
    "GraphUpdaterLagGrowing",
    "DeadLetterStreamNotEmpty",
    "MetricsRefreshStale",
    "CausalAnalysesSlow",
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


def _sections(markdown: str) -> dict[str, str]:
    """Level-2 sections by their anchor (GitHub's slug: lower case, spaces to hyphens,
    punctuation dropped)."""
    out: dict[str, str] = {}
    anchor = ""
    for line in markdown.splitlines():
        if line.startswith("## "):
            anchor = re.sub(r"[^a-z0-9 _-]", "", line[3:].strip().lower()).replace(" ", "-")
            out[anchor] = ""
        elif anchor:
            out[anchor] += line + "\n"
    return out


def test_every_runbook_url_resolves_to_a_section_with_checks_and_mitigations() -> None:
    """Each alert's runbook_url names docs/runbooks/incidents.md and an anchor the runbook has;
    the section says what to check first and how to mitigate (or links the runbook that does)."""
    sections = _sections(RUNBOOK.read_text())
    for group in _rules()["groups"]:  # type: ignore[attr-defined]
        for rule in group["rules"]:
            url = rule["annotations"]["runbook_url"]
            page, _, anchor = url.partition("#")
            assert page.endswith("/docs/runbooks/incidents.md"), url
            assert anchor == rule["alert"].lower() and anchor in sections, (rule["alert"], url)
            body = sections[anchor]
            assert "**What**" in body and "First checks" in body, rule["alert"]
            assert "Mitigations" in body or re.search(r"\]\([a-z-]+\.md\)", body), rule["alert"]


def test_a_missing_anchor_would_be_caught() -> None:
    sections = _sections("# T\n\n## HighErrorRatio\n\n**What**: x\n")
    assert "higherrorratio" in sections and "highrequestlatencyp95" not in sections


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
