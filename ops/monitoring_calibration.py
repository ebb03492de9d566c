"""Calibration of the outcome-monitoring rule (issue 12 item 8): the difference-in-differences
rollback decision over many seeded scenarios with known truth.

Scenario: ``people`` people with a person level (SD 6) and weekly pulse-like noise (SD 4), 4
weeks before and 4 after acting; the first ``targets`` are treated. Figures (share of seeds that
roll back): ``null`` (no effect: the false rollback rate), ``seasonal_dip`` (everyone -5),
``harm_1_5sd`` (targets -6: the detection rate) and ``harm_0_75sd`` (targets -3), plus the former
before/after rule's rate on the null and the dip. One JSON object on the last line.

Run: ``task interventions:calibrate`` (``-- --seeds 1000``); the unit test
(tests/unit/domain/test_outcome_monitoring.py) runs a smaller version with the same generator.
"""

from __future__ import annotations

import argparse
import json
import os
import time

from shared.domain.intervention_outcomes import OutcomeVerdict, judge_outcome
from shared.domain.interventions import CATALOGUE, InterventionType
from shared.domain.outcome_monitoring import difference_in_differences

Panel = tuple[dict[str, list[float]], dict[str, list[float]], set[str]]
SCENARIOS = {"null": (0.0, 0.0), "seasonal_dip": (0.0, -5.0), "harm_1_5sd": (-6.0, 0.0), "harm_0_75sd": (-3.0, 0.0)}


def simulated_panel(seed: int, effect: float = 0.0, dip: float = 0.0, people: int = 60, targets: int = 10) -> Panel:
    """Weekly scores (pre, post, treated): person level + noise; ``effect`` on the targets only,
    ``dip`` on everyone after acting."""
    import numpy as np

    rng = np.random.default_rng(seed)
    level = rng.normal(70, 6, size=people)
    ids = [f"p{i}" for i in range(people)]
    treated = set(ids[:targets])
    pre = {k: list(level[i] + rng.normal(0, 4, size=4)) for i, k in enumerate(ids)}
    post = {
        k: list(level[i] + dip + (effect if k in treated else 0.0) + rng.normal(0, 4, size=4))
        for i, k in enumerate(ids)
    }
    return pre, post, treated


def old_rule_rolls_back(panel: Panel) -> bool:
    """The former rule: each target's last value before against its last value after."""
    pre, post, treated = panel
    entry = CATALOGUE[InterventionType.MEETING_LOAD_CAP]
    before, after = {k: pre[k][-1] for k in treated}, {k: post[k][-1] for k in treated}
    return judge_outcome(entry, before, after)[0] is OutcomeVerdict.NEGATIVE


def calibrate(seeds: int) -> dict[str, float]:
    figures: dict[str, float] = {}
    for name, (effect, dip) in SCENARIOS.items():
        panels = [simulated_panel(s, effect=effect, dip=dip) for s in range(seeds)]
        rolled = sum(difference_in_differences(*p, higher_is_better=True).rollback for p in panels)
        figures[f"{name}_rollback_rate"] = rolled / seeds
        if name in ("null", "seasonal_dip"):
            figures[f"{name}_old_rule_rollback_rate"] = sum(map(old_rule_rolls_back, panels)) / seeds
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=500)
    args = parser.parse_args()
    started, cpu0 = time.perf_counter(), os.times()
    figures = calibrate(args.seeds)
    cpu1 = os.times()
    figures |= {
        "seeds": args.seeds,
        "wall_s": round(time.perf_counter() - started, 2),
        "cpu_s": round((cpu1.user - cpu0.user) + (cpu1.system - cpu0.system), 2),
        "load_1m": round(os.getloadavg()[0], 2),
    }
    for name, value in figures.items():
        print(f"{name}: {value}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
