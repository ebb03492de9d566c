"""Causal analysis, the pure part: what an analyst may ask (the spec), what the data must
satisfy, and which engine runs it. The result and the verdict ladder are in
shared/domain/causal_verdict.py, graph reading in shared/domain/causal_graph.py; every rule is
documented in docs/causal.md.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import ClassVar, Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator, model_validator

from shared.domain.causal_graph import MAX_GRAPH_CHARS, graph_adjustment_set, parse_graph
from shared.domain.metrics import NUMERIC_METRICS

COLUMN_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
_COLUMN = re.compile(COLUMN_PATTERN)

# Columns of the time-series store (employee_metrics, defined by the metrics domain).
METRIC_COLUMNS: tuple[str, ...] = NUMERIC_METRICS
# Per-person attributes (employee_attributes) and the team (from the time-series store).
ATTRIBUTE_COLUMNS: tuple[str, ...] = ("tenure_years", "role", "team")
# The panel's period, usable as a confounder: one dummy per period adjusts for what hits everyone
# that week or month (a holiday, a reorganisation), so only within-period differences identify.
PERIOD_COLUMN = "period"
CATEGORICAL_COLUMNS: frozenset[str] = frozenset({"role", "team", PERIOD_COLUMN})


class Estimator(StrEnum):
    """DoWhy's backdoor estimators (the method names DoWhy takes)."""

    LINEAR_REGRESSION = "backdoor.linear_regression"
    PROPENSITY_SCORE_WEIGHTING = "backdoor.propensity_score_weighting"
    DOUBLY_ROBUST = "backdoor.doubly_robust"
    PROPENSITY_SCORE_MATCHING = "backdoor.propensity_score_matching"
    PROPENSITY_SCORE_STRATIFICATION = "backdoor.propensity_score_stratification"


# Every estimator but the regression needs a binary (0/1) treatment.
BINARY_ESTIMATORS: frozenset[Estimator] = frozenset(set(Estimator) - {Estimator.LINEAR_REGRESSION})
# No closed-form interval in our engines: the interval is a bootstrap over people (DoWhy refits each draw).
BOOTSTRAP_ESTIMATORS: frozenset[Estimator] = frozenset(
    {Estimator.DOUBLY_ROBUST, Estimator.PROPENSITY_SCORE_MATCHING, Estimator.PROPENSITY_SCORE_STRATIFICATION}
)
# What the Spark engine computes as aggregations (docs/causal.md, "Engines"); the rest is a 422 there.
SPARK_ESTIMATORS: frozenset[Estimator] = frozenset({Estimator.LINEAR_REGRESSION, Estimator.PROPENSITY_SCORE_WEIGHTING})


class Estimand(StrEnum):
    """Whose effect: everyone (ATE), the treated (ATT) or the untreated (ATC); DoWhy's target_units."""

    ATE = "ate"
    ATT = "att"
    ATC = "atc"


class Refuter(StrEnum):
    PLACEBO_TREATMENT = "placebo_treatment"
    RANDOM_COMMON_CAUSE = "random_common_cause"
    DATA_SUBSET = "data_subset"
    DUMMY_OUTCOME = "dummy_outcome"


# random_common_cause is available but not run by default: adding an independent N(0,1) column
# cannot move a regression estimate, so it never fails (160 of 160 runs) and proves nothing.
DEFAULT_REFUTERS: tuple[Refuter, ...] = (Refuter.PLACEBO_TREATMENT, Refuter.DATA_SUBSET, Refuter.DUMMY_OUTCOME)


class Cluster(StrEnum):
    """Unit of the clustered standard errors: rows of one person (or team) are not independent."""

    PERSON = "person"
    TEAM = "team"
    NONE = "none"


CLUSTER_COLUMNS: dict[Cluster, str] = {Cluster.PERSON: "employee", Cluster.TEAM: "team"}


class Engine(StrEnum):
    PANDAS = "pandas"
    SPARK = "spark"


class Window(BaseModel):
    """Inclusive range of periods (period = the first day of the week or month)."""

    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.start > self.end:
            raise ValueError("window.start must not be after window.end")
        return self


Column = str


class AnalysisSpec(BaseModel):
    """One causal question. Either ``confounders`` or a causal ``graph`` names the adjustment set."""

    model_config = {"extra": "forbid"}
    _defer_graph_parsing: ClassVar[bool] = False  # see AnalysisSpecBody

    treatment: Column = Field(pattern=COLUMN_PATTERN)
    outcome: Column = Field(pattern=COLUMN_PATTERN)
    confounders: list[Column] = Field(default_factory=list, max_length=50)
    graph: str | None = Field(default=None, max_length=MAX_GRAPH_CHARS, description="DOT or GML causal graph (a DAG)")
    estimator: Estimator = Estimator.LINEAR_REGRESSION
    estimand: Estimand = Field(
        default=Estimand.ATT, description="ate, att (default: justify acting on the treated), atc"
    )
    cluster: Cluster = Field(default=Cluster.PERSON, description="standard errors clustered by person, team, or none")
    trim_propensity: float | None = Field(
        default=None,
        gt=0.0,
        le=0.2,
        description="binary treatment: drop units whose propensity is outside [a, 1 - a] before estimating",
    )
    sensitivity: bool = Field(default=True, description="sensitivity analysis to unobserved confounding")
    refuters: list[Refuter] = Field(default_factory=lambda: list(DEFAULT_REFUTERS))
    window: Window | None = None
    period: Literal["week", "month"] = "week"
    lag: int = Field(
        default=0,
        ge=0,
        le=12,
        description="periods between treatment and outcome: treatment in period t, outcome in t + lag (default 0)",
    )
    treatment_threshold: float | None = Field(
        default=None, description="binarise the treatment as (treatment > threshold); needed by weighting"
    )
    refuter_simulations: int = Field(default=20, ge=2, le=200)
    compare: list[Estimator] = Field(
        default_factory=list,
        max_length=4,
        description="comparison mode: also run these estimators and report the spread (disagreement caps the verdict)",
    )
    interval: Literal["analytic", "bootstrap"] = Field(
        default="analytic",
        description="weighting: sandwich (analytic) or a bootstrap over people; matching, stratification and "
        "doubly robust always bootstrap",
    )
    bootstrap_draws: int = Field(default=100, ge=20, le=1000, description="bootstrap resamples of people")
    seed: int = Field(default=0, ge=0, le=2**31 - 1)

    @field_validator("confounders")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not _COLUMN.match(name):
                raise ValueError(f"confounder {name!r} is not a valid column name")
        if len(set(value)) != len(value):
            raise ValueError("confounders repeat a column")
        return value

    @field_validator("graph")
    @classmethod
    def _graph(cls, value: str | None, info: ValidationInfo) -> str | None:
        """Parse now: a broken or cyclic graph is a 422 naming the ``graph`` field, not a failed run."""
        if value is None or cls._defer_graph_parsing:
            return value
        treatment, outcome = info.data.get("treatment"), info.data.get("outcome")
        if treatment is None or outcome is None:
            parse_graph(value)
        else:
            _valid_names(graph_adjustment_set(value, treatment, outcome))
        return value

    @field_validator("refuters")
    @classmethod
    def _unique_refuters(cls, value: list[Refuter]) -> list[Refuter]:
        return list(dict.fromkeys(value))

    def estimators(self) -> list[Estimator]:
        """The estimator the spec picks, then the ones it compares against (without repeats)."""
        return list(dict.fromkeys([self.estimator, *self.compare]))

    def bootstrapped(self, estimator: Estimator) -> bool:
        return estimator in BOOTSTRAP_ESTIMATORS or (
            estimator is Estimator.PROPENSITY_SCORE_WEIGHTING and self.interval == "bootstrap"
        )

    @model_validator(mode="after")
    def _consistent(self) -> AnalysisSpec:
        if self.treatment == self.outcome:
            raise ValueError("treatment and outcome must differ")
        if {self.treatment, self.outcome} & set(self.confounders):
            raise ValueError("confounders must not include the treatment or the outcome")
        if not self.confounders and self.graph is None:
            raise ValueError("give confounders or a causal graph")
        if self.confounders and self.graph is not None:
            raise ValueError("give confounders or a causal graph, not both")
        if self.treatment in CATEGORICAL_COLUMNS or self.outcome in CATEGORICAL_COLUMNS:
            raise ValueError("treatment and outcome must be numeric columns")
        if self.lag and (self.outcome in METRIC_COLUMNS or self.outcome in ATTRIBUTE_COLUMNS):
            raise ValueError("lag applies to an outcome from the outcomes table, not a metric or attribute")
        if Estimator.DOUBLY_ROBUST in self.estimators() and self.estimand is not Estimand.ATE:
            raise ValueError("DoWhy's doubly robust estimator estimates the ATE only: set estimand to ate")
        return self

    def adjustment_set(self) -> list[str]:
        """The backdoor adjustment set: the confounders, or the one the graph gives (graph_adjustment_set)."""
        if self.graph is None:
            return list(self.confounders)
        return _valid_names(graph_adjustment_set(self.graph, self.treatment, self.outcome))

    def columns(self) -> list[str]:
        """Every column the analysis reads."""
        return [self.treatment, self.outcome, *self.adjustment_set()]


def _valid_names(adjust: list[str]) -> list[str]:
    for name in adjust:
        if not _COLUMN.match(name):
            raise ValueError(f"graph node {name!r} is not a valid column name")
    return adjust


class AnalysisSpecBody(AnalysisSpec):
    """The spec as the HTTP API reads it: the same schema, but the graph is not parsed while the
    request body is validated (that happens on the event loop); the route then validates an
    :class:`AnalysisSpec` in a worker thread, so a crafted graph cannot stall other requests."""

    model_config = {"extra": "forbid", "title": "AnalysisSpec"}
    _defer_graph_parsing: ClassVar[bool] = True


class SpecProblem(ValueError):
    """The spec does not fit the data: becomes a 422 with ``field`` and ``reason``."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


class DataProfile(BaseModel):
    """What the checks need to know about the data, computed by whoever holds it."""

    columns: list[str]
    rows: int  # rows with every needed column present
    rows_dropped_missing: int = 0  # panel rows left out because a needed value is missing
    treatment_distinct: int  # distinct treatment values among those rows (capped is fine, >= 3)
    treatment_binary: bool  # every treatment value (after any threshold) is 0 or 1


def check_against_data(spec: AnalysisSpec, profile: DataProfile, min_rows: int) -> None:
    """Raise :class:`SpecProblem` for unknown columns, a constant treatment or too few rows."""
    known = set(profile.columns)
    for field, names in (
        ("treatment", [spec.treatment]),
        ("outcome", [spec.outcome]),
        ("confounders" if spec.graph is None else "graph", spec.adjustment_set()),
    ):
        unknown = [n for n in names if n not in known]
        if unknown:
            raise SpecProblem(field, f"unknown column(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    if profile.rows < min_rows:
        raise SpecProblem("window", f"too few rows: {profile.rows} complete rows, at least {min_rows} needed")
    if profile.treatment_distinct < 2:
        raise SpecProblem("treatment", f"the treatment {spec.treatment!r} has no variation in the data")
    binary_only = [e.value for e in spec.estimators() if e in BINARY_ESTIMATORS]
    if binary_only and not profile.treatment_binary:
        raise SpecProblem(
            "estimator" if spec.estimator in BINARY_ESTIMATORS else "compare",
            f"{', '.join(binary_only)} need(s) a binary (0/1) treatment: set treatment_threshold to binarise it",
        )


def check_engine(spec: AnalysisSpec, engine: Engine) -> None:
    """The Spark engine computes the regression and the weighting estimator (sandwich intervals);
    matching, stratification, doubly robust, bootstrap intervals and comparison mode are pandas-only
    (a bootstrap over people or a DoWhy refit per estimator is a full pass over 100K+ rows each)."""
    if engine is not Engine.SPARK:
        return
    unsupported = [e.value for e in spec.estimators() if e not in SPARK_ESTIMATORS]
    if unsupported:
        supported = ", ".join(sorted(e.value for e in SPARK_ESTIMATORS))
        raise SpecProblem(
            "estimator" if spec.estimator not in SPARK_ESTIMATORS else "compare",
            f"this panel runs on the Spark engine, which supports {supported}, not {', '.join(unsupported)}",
        )
    if spec.compare:
        raise SpecProblem(
            "compare", "comparison mode runs on the pandas engine only (panels below the Spark threshold)"
        )
    if spec.interval == "bootstrap":
        raise SpecProblem(
            "interval", "bootstrap intervals run on the pandas engine only; the Spark engine's is analytic"
        )


def choose_engine(rows: int, threshold: int) -> tuple[Engine, str]:
    """Engine selection by size: in-process pandas below the threshold, Spark from it on."""
    if rows >= threshold:
        return Engine.SPARK, f"{rows} rows >= spark threshold {threshold}"
    return Engine.PANDAS, f"{rows} rows < spark threshold {threshold}"
