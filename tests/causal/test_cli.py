"""`causal-organism analyze` on an analyst's CSV: comparison mode and the bootstrap from the command line."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from shared.cli.causal import add_causal_commands
from shared.domain.synthetic_org import generate_org
from shared.platform.settings import load_settings


def test_analyze_compares_estimators_and_rejects_a_bad_spec(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    moderate = {"load_on_treatment": 1.0, "load_on_outcome": -1.0}
    org = generate_org(3, people=60, weeks=6, treatment="high_meeting_load", **moderate)
    csv = tmp_path / "panel.csv"
    org.frame()[["employee", "team", "role", "tenure_years", "high_meeting_load", "wellbeing"]].to_csv(csv, index=False)
    parser = argparse.ArgumentParser()
    add_causal_commands(parser.add_subparsers())
    base = ["analyze", "--csv", str(csv), "--treatment", "high_meeting_load", "--outcome", "wellbeing"]
    base += ["--confounders", "team,role,tenure_years", "--refuters", "", "--estimand", "ate", "--compact"]
    args = parser.parse_args(
        [*base, "--estimator", "backdoor.propensity_score_weighting", "--compare", "backdoor.propensity_score_matching",
         "--bootstrap-draws", "20"]
    )  # fmt: skip
    assert args.func(args, load_settings()) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out)[:3] == ["effect", "ci_low", "ci_high"]
    estimates = out["comparison"]["estimates"]
    assert [e["estimator"] for e in estimates] == [
        "backdoor.propensity_score_weighting",
        "backdoor.propensity_score_matching",
    ]
    assert estimates[1]["std_error_kind"] == "bootstrap:person" and estimates[0]["effect"] == out["effect"]
    bad = parser.parse_args([*base, "--estimator", "backdoor.doubly_robust", "--estimand", "att"])
    assert bad.func(bad, load_settings()) == 2  # DoWhy's doubly robust is ATE only
    assert "ATE only" in capsys.readouterr().out
