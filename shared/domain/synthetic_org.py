"""A seeded synthetic organisation with a planted causal effect and real confounding.

Why: the causal engine can only be trusted on data where the truth is known. People sit in
teams with a hidden workload; busy teams meet more *and* feel worse, managers meet more *and*
feel worse, long-tenured people meet more *and* feel better. Meeting hours then lower wellbeing
by exactly ``true_effect`` points per hour. A naive comparison mixes all of that together;
adjusting for team, role and tenure recovers ``true_effect``.

Structural equations (per person i, week w; e ~ N(0, 1) independent):
    load[team]          ~ N(0, 1)                       (hidden, absorbed by team dummies)
    meeting_hours       = max(0, 8 + 3 load + 0.3 tenure + 4 manager + 3 e1)
    high_meeting_load   = 1[meeting_hours > 10]
    wellbeing           = 70 + effect * T - 4 load + 0.8 tenure - 1.5 manager + 2 e2
with T = meeting_hours (continuous) or high_meeting_load (binary).

Options for the calibration study (all off by default; drawn from a second stream seeded by
``(seed, 1)`` so the default organisation is unchanged):
    person_effect  p: meeting_hours += 3 p a_i, wellbeing += 2 p b_i (persistent habits: a
                      person's weeks are correlated, a_i, b_i ~ N(0, 1) per person)
    hidden         h: an unobserved person trait u_i ~ N(0, 1): meeting_hours += 2 h u_i,
                      wellbeing -= 2 h u_i (not among the columns)
    nonlinear:        wellbeing += 0.6 (tenure - 4)^2 / 4 and meeting_hours += 0.8 |tenure - 4|
    load_on_outcome:  the -4 in the wellbeing equation
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import pandas as pd

ROLES: tuple[str, ...] = ("analyst", "designer", "engineer", "manager")
ROLE_WEIGHTS: tuple[float, ...] = (0.2, 0.15, 0.5, 0.15)
FIRST_WEEK = date(2026, 1, 5)  # a Monday
OUTCOME_METRIC = "wellbeing"


@dataclass(frozen=True)
class SyntheticOrg:
    """People, their weekly metrics and outcomes, and the effect that was planted."""

    seed: int
    true_effect: float
    treatment: str
    people: list[str]
    teams: list[str]
    roles: list[str]
    tenure_years: list[float]
    weeks: list[date]
    columns: dict[str, Any] = field(repr=False)  # column name -> numpy array, person-major order

    @property
    def rows(self) -> int:
        return len(self.columns["employee"])

    def frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.columns)

    def spec_kwargs(self) -> dict[str, Any]:
        """The analysis that should recover the planted effect."""
        return {
            "treatment": self.treatment,
            "outcome": OUTCOME_METRIC,
            "confounders": ["team", "role", "tenure_years"],
        }


def generate_org(
    seed: int,
    *,
    people: int = 300,
    weeks: int = 12,
    true_effect: float = -0.4,
    treatment: Literal["meeting_hours", "high_meeting_load"] = "meeting_hours",
    team_size: int = 12,
    load_on_treatment: float = 3.0,
    first_week: date = FIRST_WEEK,
    load_on_outcome: float = -4.0,
    person_effect: float = 0.0,
    hidden: float = 0.0,
    nonlinear: bool = False,
) -> SyntheticOrg:
    """Generate an organisation deterministically from ``seed``.

    ``first_week`` (a Monday) places the weeks, so several organisations can share one store.
    ``load_on_treatment`` is the 3 in the meeting-hours equation: lower it for a weighting
    estimator, whose propensities otherwise hit the clipping bounds (a positivity problem).
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    n_teams = max(3, people // team_size)
    team_names = [f"team_{t:03d}" for t in range(n_teams)]
    team_of = rng.integers(0, n_teams, size=people)
    load = rng.normal(0.0, 1.0, size=n_teams)
    role_of = rng.choice(len(ROLES), size=people, p=np.array(ROLE_WEIGHTS))
    tenure = np.round(rng.gamma(2.0, 2.0, size=people), 2)
    manager = (np.array(ROLES)[role_of] == "manager").astype(float)

    n = people * weeks
    ids = [f"org{seed}-emp-{i:05d}" for i in range(people)]  # distinct per seed: orgs can share a store
    person = np.repeat(np.arange(people), weeks)
    week = np.tile(np.arange(weeks), people)
    t_load = load[team_of][person]
    t_ten = tenure[person]
    t_mgr = manager[person]

    extra_t, extra_y = np.zeros(n), np.zeros(n)
    if person_effect or hidden or nonlinear:
        rng2 = np.random.default_rng([seed, 1])
        a, b, u = (rng2.normal(size=people)[person] for _ in range(3))
        extra_t += 3 * person_effect * a + 2 * hidden * u
        extra_y += 2 * person_effect * b - 2 * hidden * u
        if nonlinear:
            extra_t += 0.8 * np.abs(t_ten - 4)
            extra_y += 0.6 * (t_ten - 4) ** 2 / 4
    meeting = np.maximum(
        0.0, 8 + load_on_treatment * t_load + 0.3 * t_ten + 4 * t_mgr + 3 * rng.normal(size=n) + extra_t
    )
    high = (meeting > 10).astype(float)
    treat = meeting if treatment == "meeting_hours" else high
    wellbeing = (
        70 + true_effect * treat + load_on_outcome * t_load + 0.8 * t_ten - 1.5 * t_mgr + 2 * rng.normal(size=n)
    ) + extra_y

    # Interaction pattern: ties mostly inside the team, more for busy people and managers.
    network = rng.poisson(6 + 0.4 * meeting + 3 * t_mgr)
    cross = np.clip(rng.beta(2, 6, size=n) + 0.1 * t_mgr, 0, 1)
    degree_out = rng.binomial(network, 0.8)
    degree_in = rng.binomial(network, 0.75)
    columns: dict[str, Any] = {
        "employee": np.array(ids)[person],
        "period": np.array([first_week + timedelta(weeks=w) for w in range(weeks)])[week],
        "team": np.array(team_names)[team_of][person],
        "role": np.array(ROLES)[role_of][person],
        "tenure_years": t_ten,
        "degree_in": degree_in,
        "degree_out": degree_out,
        "weighted_in": np.round(degree_in * rng.gamma(3, 1.0, size=n), 3),
        "weighted_out": np.round(degree_out * rng.gamma(3, 1.0, size=n), 3),
        "betweenness": np.round(rng.beta(1, 20, size=n) * (1 + cross), 6),
        "clustering": np.round(rng.beta(4, 3, size=n), 6),
        "cross_team_ratio": np.round(cross, 6),
        "after_hours_share": np.round(np.clip(0.02 * meeting + rng.beta(1, 12, size=n), 0, 1), 6),
        "meeting_hours": meeting,
        "high_meeting_load": high,
        "network_size": network,
        "strong_ties": rng.binomial(network, 0.3),
        "diverse_ties": rng.binomial(network, cross),
        OUTCOME_METRIC: wellbeing,
    }
    return SyntheticOrg(
        seed=seed,
        true_effect=true_effect,
        treatment=treatment,
        people=ids,
        teams=[team_names[t] for t in team_of],
        roles=[ROLES[r] for r in role_of],
        tenure_years=[float(x) for x in tenure],
        weeks=[first_week + timedelta(weeks=w) for w in range(weeks)],
        columns=columns,
    )
