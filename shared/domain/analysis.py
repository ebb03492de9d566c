"""Causal analysis, the pure part: what an analyst may ask (spec), what the data must satisfy, and
the verdict rule that turns an estimate plus its refutations into "robust" or "fragile".

The engines (shared/adapters/causal) and the service only compute; every rule lives here so it
can be read top to bottom and is documented in docs/causal.md.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from shared.domain.metrics import NUMERIC_METRICS

COLUMN_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
_COLUMN = re.compile(COLUMN_PATTERN)

# Columns of the time-series store (employee_metrics, defined by the metrics domain).
METRIC_COLUMNS: tuple[str, ...] = NUMERIC_METRICS
# Per-person attributes (employee_attributes) and the team (from the time-series store).
ATTRIBUTE_COLUMNS: tuple[str, ...] = ("tenure_years", "role", "team")
CATEGORICAL_COLUMNS: frozenset[str] = frozenset({"role", "team"})

# Fixed rule thresholds (see docs/causal.md, "Verdict rule").
REFUTER_RELATIVE_TOLERANCE = 0.10
CONFIDENCE_LEVEL = 0.95


class Estimator(StrEnum):
    LINEAR_REGRESSION = "backdoor.linear_regression"
    PROPENSITY_SCORE_WEIGHTING = "backdoor.propensity_score_weighting"


class Refuter(StrEnum):
    PLACEBO_TREATMENT = "placebo_treatment"
    RANDOM_COMMON_CAUSE = "random_common_cause"
    DATA_SUBSET = "data_subset"


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

    treatment: Column = Field(pattern=COLUMN_PATTERN)
    outcome: Column = Field(pattern=COLUMN_PATTERN)
    confounders: list[Column] = Field(default_factory=list, max_length=50)
    graph: str | None = Field(default=None, max_length=100_000, description="DOT or GML causal graph")
    estimator: Estimator = Estimator.LINEAR_REGRESSION
    refuters: list[Refuter] = Field(default_factory=lambda: list(Refuter))
    window: Window | None = None
    period: Literal["week", "month"] = "week"
    treatment_threshold: float | None = Field(
        default=None, description="binarise the treatment as (treatment > threshold); needed by weighting"
    )
    refuter_simulations: int = Field(default=10, ge=2, le=200)
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

    @field_validator("refuters")
    @classmethod
    def _unique_refuters(cls, value: list[Refuter]) -> list[Refuter]:
        return list(dict.fromkeys(value))

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
        if self.graph is not None:
            self.adjustment_set()  # parse now: a broken graph is a 422, not a failed run
        if self.treatment in CATEGORICAL_COLUMNS or self.outcome in CATEGORICAL_COLUMNS:
            raise ValueError("treatment and outcome must be numeric columns")
        return self

    def adjustment_set(self) -> list[str]:
        """The backdoor adjustment set: the confounders, or the treatment's parents in the graph."""
        if self.graph is None:
            return list(self.confounders)
        edges = parse_graph(self.graph)
        nodes = {n for e in edges for n in e}
        for needed in (self.treatment, self.outcome):
            if needed not in nodes:
                raise ValueError(f"the graph has no node {needed!r}")
        if (self.treatment, self.outcome) not in edges:
            raise ValueError("the graph has no edge from the treatment to the outcome")
        parents = sorted({a for a, b in edges if b == self.treatment and a != self.outcome})
        for p in parents:
            if not _COLUMN.match(p):
                raise ValueError(f"graph node {p!r} is not a valid column name")
        return parents

    def columns(self) -> list[str]:
        """Every column the analysis reads."""
        return [self.treatment, self.outcome, *self.adjustment_set()]


_DOT_EDGE = re.compile(r'"?([A-Za-z_][A-Za-z0-9_]*)"?\s*->\s*"?([A-Za-z_][A-Za-z0-9_]*)"?')


def parse_graph(text: str) -> set[tuple[str, str]]:
    """Directed edges of a DOT (``digraph { a -> b; }``, chains allowed) or GML graph."""
    body = text.strip()
    if body.lower().startswith("graph") and "[" in body.split("\n", 1)[0] + body[:20]:
        return _parse_gml(body)
    if "->" not in body:
        raise ValueError("the causal graph has no directed edge (DOT 'a -> b' or GML 'edge [ ... ]')")
    edges: set[tuple[str, str]] = set()
    for statement in re.split(r"[;\n]", body):
        chain = [p.strip().strip('"') for p in statement.split("->")]
        if len(chain) < 2:
            continue
        chain[0] = chain[0].split("{")[-1].strip().strip('"')
        chain[-1] = chain[-1].split("[")[0].split("}")[0].strip().strip('"')
        for a, b in zip(chain, chain[1:], strict=False):
            if not a or not b:
                raise ValueError(f"cannot read the graph statement {statement.strip()!r}")
            edges.add((a, b))
    if not edges:
        raise ValueError("the causal graph has no directed edge")
    return edges


def _parse_gml(text: str) -> set[tuple[str, str]]:
    ids: dict[str, str] = {}
    for node in re.finditer(r"node\s*\[(.*?)\]", text, re.S):
        ident = re.search(r"\bid\s+\"?([^\s\"]+)\"?", node.group(1))
        label = re.search(r"\blabel\s+\"?([^\s\"]+)\"?", node.group(1))
        if ident:
            ids[ident.group(1)] = label.group(1) if label else ident.group(1)
    edges: set[tuple[str, str]] = set()
    for edge in re.finditer(r"edge\s*\[(.*?)\]", text, re.S):
        src = re.search(r"\bsource\s+\"?([^\s\"]+)\"?", edge.group(1))
        dst = re.search(r"\btarget\s+\"?([^\s\"]+)\"?", edge.group(1))
        if not src or not dst:
            raise ValueError("a GML edge lacks source or target")
        edges.add((ids.get(src.group(1), src.group(1)), ids.get(dst.group(1), dst.group(1))))
    if not edges:
        raise ValueError("the GML graph has no edge")
    return edges


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
    if spec.estimator is Estimator.PROPENSITY_SCORE_WEIGHTING and not profile.treatment_binary:
        raise SpecProblem(
            "estimator",
            "propensity score weighting needs a binary (0/1) treatment: set treatment_threshold to binarise it",
        )


def choose_engine(rows: int, threshold: int) -> tuple[Engine, str]:
    """Engine selection by size: in-process pandas below the threshold, Spark from it on."""
    if rows >= threshold:
        return Engine.SPARK, f"{rows} rows >= spark threshold {threshold}"
    return Engine.PANDAS, f"{rows} rows < spark threshold {threshold}"


class Refutation(BaseModel):
    refuter: Refuter
    new_effect: float
    simulations: int
    passed: bool
    rule: str


class Estimate(BaseModel):
    effect: float
    ci_low: float
    ci_high: float
    std_error: float | None = None


class AnalysisResult(BaseModel):
    treatment: str
    outcome: str
    estimator: Estimator
    adjustment_set: list[str]
    design_columns: list[str]  # the encoded covariates actually adjusted for
    rows: int
    effect: float
    ci_low: float
    ci_high: float
    std_error: float | None
    naive_effect: float  # the same estimator with no adjustment, to show what confounding does
    refutations: list[Refutation]
    verdict: Literal["robust", "fragile"]
    verdict_reasons: list[str]
    engine: Engine
    engine_reason: str = ""
    seconds: float = 0.0


def judge_refutation(refuter: Refuter, effect: float, new_effect: float, simulations: int) -> Refutation:
    """One refuter's pass/fail, by the rule in docs/causal.md."""
    tol = REFUTER_RELATIVE_TOLERANCE
    scale = abs(effect)
    if refuter is Refuter.PLACEBO_TREATMENT:
        passed = abs(new_effect) <= tol * scale
        rule = f"|placebo effect| <= {tol:.0%} of |effect|"
    else:
        passed = abs(new_effect - effect) <= tol * scale
        rule = f"|new effect - effect| <= {tol:.0%} of |effect|"
    return Refutation(refuter=refuter, new_effect=new_effect, simulations=simulations, passed=passed, rule=rule)


def verdict(estimate: Estimate, refutations: list[Refutation]) -> tuple[Literal["robust", "fragile"], list[str]]:
    """Robust only if the interval excludes zero and every requested refuter passed."""
    reasons: list[str] = []
    if estimate.ci_low <= 0.0 <= estimate.ci_high:
        reasons.append(
            f"the {CONFIDENCE_LEVEL:.0%} interval [{estimate.ci_low:.4g}, {estimate.ci_high:.4g}] includes 0"
        )
    if not refutations:
        reasons.append("no refuter was run")
    for r in refutations:
        if not r.passed:
            reasons.append(f"{r.refuter.value} failed: new effect {r.new_effect:.4g} ({r.rule})")
    return ("fragile" if reasons else "robust"), reasons
