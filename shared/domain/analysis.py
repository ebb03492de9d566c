"""Causal analysis, the pure part: what an analyst may ask (spec), what the data must satisfy, and
the verdict ladder that turns an estimate, its diagnostics, refutations and sensitivity analysis
into one of ``robust``, ``sensitive_to_hidden_confounding``, ``insufficient_overlap``,
``not_significant`` or ``fragile`` (:func:`verdict`).

The engines (shared/adapters/causal) and the service only compute; every rule lives here so it
can be read top to bottom and is documented in docs/causal.md.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from shared.domain.metrics import NUMERIC_METRICS

if TYPE_CHECKING:
    import networkx as nx

COLUMN_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
_COLUMN = re.compile(COLUMN_PATTERN)

# Columns of the time-series store (employee_metrics, defined by the metrics domain).
METRIC_COLUMNS: tuple[str, ...] = NUMERIC_METRICS
# Per-person attributes (employee_attributes) and the team (from the time-series store).
ATTRIBUTE_COLUMNS: tuple[str, ...] = ("tenure_years", "role", "team")
CATEGORICAL_COLUMNS: frozenset[str] = frozenset({"role", "team"})

# Rule thresholds (see docs/causal.md, "Verdict ladder").
CONFIDENCE_LEVEL = 0.95
REFUTER_SIGNIFICANCE = 0.05  # a refuter's test level
PS_SUPPORT = (0.05, 0.95)  # propensities outside this band mean a unit has (almost) no comparable other
MAX_SHARE_OUTSIDE_SUPPORT = 0.10  # more than this share of units outside the band: insufficient overlap
MAX_ABS_SMD_AFTER = 0.10  # a confounder still this imbalanced after weighting: insufficient balance
MIN_RESIDUAL_TREATMENT_SHARE = 0.05  # continuous treatment: variance left after the confounders
MIN_EFFECTIVE_SHARE = 0.10  # weighting: effective sample size of an arm below this share of the arm
MAX_GRAPH_CHARS = 20_000  # DOT/GML text cap (parsed off the event loop)
MAX_GRAPH_NODES = 200
VerdictLabel = Literal[
    "robust", "sensitive_to_hidden_confounding", "insufficient_overlap", "not_significant", "fragile"
]


class Estimator(StrEnum):
    LINEAR_REGRESSION = "backdoor.linear_regression"
    PROPENSITY_SCORE_WEIGHTING = "backdoor.propensity_score_weighting"


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
    treatment_threshold: float | None = Field(
        default=None, description="binarise the treatment as (treatment > threshold); needed by weighting"
    )
    refuter_simulations: int = Field(default=20, ge=2, le=200)
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
        if self.graph is not None and not self._defer_graph_parsing:
            self.adjustment_set()  # parse now: a broken graph is a 422, not a failed run
        if self.treatment in CATEGORICAL_COLUMNS or self.outcome in CATEGORICAL_COLUMNS:
            raise ValueError("treatment and outcome must be numeric columns")
        return self

    def adjustment_set(self) -> list[str]:
        """The backdoor adjustment set: the confounders, or the one the graph gives (graph_adjustment_set)."""
        if self.graph is None:
            return list(self.confounders)
        return graph_adjustment_set(self.graph, self.treatment, self.outcome)

    def columns(self) -> list[str]:
        """Every column the analysis reads."""
        return [self.treatment, self.outcome, *self.adjustment_set()]


def parse_graph(text: str) -> set[tuple[str, str]]:
    """Directed edges of a DOT or GML graph: networkx's GML reader, a linear DOT scanner (see
    :func:`_read_dot_edges`), then a networkx DiGraph checked to be a DAG.

    Why not regular expressions: a crafted GML text made the former pattern backtrack for 7 s on
    95 KB, on the event loop. Input is capped at ``MAX_GRAPH_CHARS`` and ``MAX_GRAPH_NODES``, and
    the API validates a spec in a worker thread.
    """
    return {(str(a), str(b)) for a, b in _parse_digraph(text).edges()}


def _parse_digraph(text: str) -> nx.DiGraph:
    import networkx as nx

    body = text.strip()
    if len(body) > MAX_GRAPH_CHARS:
        raise ValueError(f"the causal graph is longer than {MAX_GRAPH_CHARS} characters")
    if body[:5].lower() == "graph" and body[5:].lstrip().startswith("["):
        try:
            parsed = nx.parse_gml(body, label="label")
        except (nx.NetworkXError, ValueError, KeyError, TypeError, IndexError) as exc:
            raise ValueError(f"cannot read the GML graph: {exc}") from exc
        if not parsed.is_directed():
            raise ValueError("the GML graph must be directed (directed 1)")
        graph = nx.DiGraph(parsed)
    else:
        graph = nx.DiGraph(_read_dot_edges(body))
    graph = nx.relabel_nodes(graph, {n: str(n).strip().strip('"') for n in graph.nodes})
    graph.remove_nodes_from([n for n in list(graph.nodes) if n in ("node", "edge", "graph", "\\n", "")])
    if graph.number_of_nodes() > MAX_GRAPH_NODES:
        raise ValueError(f"the causal graph has more than {MAX_GRAPH_NODES} nodes")
    if graph.number_of_edges() == 0:
        raise ValueError("the causal graph has no directed edge")
    if not nx.is_directed_acyclic_graph(graph):
        cycle = " -> ".join(str(a) for a, _ in nx.find_cycle(graph))
        raise ValueError(f"the causal graph has a cycle ({cycle}): it must be a DAG")
    return graph


def _read_dot_edges(text: str) -> list[tuple[str, str]]:
    """The edges of a DOT ``digraph``, read by a single left-to-right scan (linear time).

    Why not pydot: its pyparsing grammar took 15 s on a valid 16 KB digraph on this machine
    (measured, load 15) and holds the GIL throughout, so even in a worker thread it stalls the
    API. Supported: ``[strict] digraph [name] { ... }`` with node and edge statements (chains
    ``a -> b -> c``), attribute lists ``[...]``, ``graph/node/edge [...]`` defaults, quoted ids
    and comments. Subgraphs and undirected edges are refused.
    """
    tokens = _dot_tokens(text)
    i = 0
    while i < len(tokens) and tokens[i].lower() == "strict":
        i += 1
    if i >= len(tokens) or tokens[i].lower() != "digraph":
        raise ValueError("the DOT graph must be a digraph (edges a -> b)")
    i += 1
    if i < len(tokens) and tokens[i] != "{":
        i += 1  # the graph's name
    if i >= len(tokens) or tokens[i] != "{" or tokens[-1] != "}":
        raise ValueError("cannot read the DOT graph: expected '{ ... }'")
    edges: list[tuple[str, str]] = []
    chain: list[str] = []
    depth = 0
    for tok in tokens[i + 1 : -1]:
        if depth:  # inside an attribute list
            depth += tok == "["
            depth -= tok == "]"
            continue
        if tok == "[":
            depth = 1
        elif tok in (";", ","):
            chain = []
        elif tok == "->":
            if not chain or chain[-1] == "->":
                raise ValueError("cannot read the DOT graph: '->' without a node before it")
            chain.append(tok)
        elif tok in ("{", "}", "--", "="):
            raise ValueError(f"cannot read the DOT graph: unexpected {tok!r} (subgraphs and '--' are not supported)")
        else:
            if chain and chain[-1] == "->":
                edges.append((chain[-2], tok))
                chain.append(tok)
            else:
                chain = [tok]
    if depth or (chain and chain[-1] == "->"):
        raise ValueError("cannot read the DOT graph: unfinished statement")
    return [(a, b) for a, b in edges if a.lower() not in ("graph", "node", "edge")]


def _dot_tokens(text: str) -> list[str]:
    """DOT tokens: ids, quoted strings (unquoted), '->', '--' and punctuation; comments dropped."""
    tokens: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif text.startswith("//", i) or c == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end + 1
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise ValueError("cannot read the DOT graph: unclosed comment")
            i = end + 2
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            if j >= n:
                raise ValueError("cannot read the DOT graph: unclosed quote")
            tokens.append(text[i + 1 : j])
            i = j + 1
        elif text.startswith("->", i) or text.startswith("--", i):
            tokens.append(text[i : i + 2])
            i += 2
        elif c in "{}[];,=":
            tokens.append(c)
            i += 1
        elif c.isalnum() or c in "_.":
            j = i
            while j < n and (text[j].isalnum() or text[j] in "_."):
                j += 1
            tokens.append(text[i:j])
            i = j
        else:
            raise ValueError(f"cannot read the DOT graph: unexpected character {c!r}")
    return tokens


def graph_adjustment_set(text: str, treatment: str, outcome: str) -> list[str]:
    """A backdoor set from the graph: the treatment's parents, without instruments.

    The parents of the treatment block every backdoor path. A parent that is d-separated from
    the outcome once the treatment is removed from the graph reaches the outcome only through
    the treatment: an instrument. Adjusting for it removes no bias, costs variance
    and amplifies any unobserved confounding, so it is left out; the remaining set is checked to
    still block every backdoor path (networkx's d-separation), else all parents are kept.
    """
    import networkx as nx

    graph = _parse_digraph(text)
    for needed in (treatment, outcome):
        if needed not in graph:
            raise ValueError(f"the graph has no node {needed!r}")
    if not nx.has_path(graph, treatment, outcome):
        raise ValueError("the graph has no directed path from the treatment to the outcome")
    if nx.has_path(graph, outcome, treatment):
        raise ValueError("the outcome causes the treatment in the graph")
    cut = graph.copy()
    cut.remove_edges_from(list(graph.out_edges(treatment)))
    parents = sorted(str(p) for p in graph.predecessors(treatment))
    without_treatment = graph.subgraph([n for n in graph.nodes if n != treatment])
    keep = [p for p in parents if not nx.is_d_separator(without_treatment, {p}, {outcome}, set())]
    if not nx.is_d_separator(cut, {treatment}, {outcome}, set(keep)):
        keep = parents
    for p in keep:
        if not _COLUMN.match(p):
            raise ValueError(f"graph node {p!r} is not a valid column name")
    return keep


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
    """One refuter, run as a statistical test over ``simulations`` refits."""

    refuter: Refuter
    new_effect: float  # mean over the simulations
    simulations: int
    passed: bool
    rule: str
    spread: float | None = None  # standard deviation of the simulated effects
    p_value: float | None = None  # DoWhy's test of the original estimate against the simulated ones


class Estimate(BaseModel):
    effect: float
    ci_low: float
    ci_high: float
    std_error: float | None = None


class BalanceRow(BaseModel):
    """Standardised mean difference (treated - control, pooled SD) of one design column."""

    column: str
    smd_before: float
    smd_after: float | None  # after weighting for the estimand (None: continuous treatment)


class Overlap(BaseModel):
    """Can treated and untreated be compared at all? (propensity scores for a binary treatment)."""

    kind: Literal["propensity", "continuous"]
    propensity_quantiles: dict[str, dict[str, float]] | None = None  # arm -> {"min","p05",...,"max"}
    share_outside_support: float | None = None  # share of units with a propensity outside PS_SUPPORT
    effective_sample_size: dict[str, float] | None = None  # arm -> Kish ESS under the estimand's weights
    arm_sizes: dict[str, int] | None = None
    residual_treatment_share: float | None = None  # continuous: 1 - R2 of the treatment on the confounders
    trimmed_rows: int = 0  # rows dropped by trim_propensity
    trim_rule: str | None = None


class Diagnostics(BaseModel):
    overlap: Overlap
    balance: list[BalanceRow]
    max_abs_smd_before: float
    max_abs_smd_after: float | None


class Sensitivity(BaseModel):
    """How strong an unobserved confounder would have to be (DoWhy's analysers, Cinelli-Hazlett and E-value)."""

    method: str
    robustness_value: float  # RV: partial R2 with treatment and outcome that moves the estimate to 0
    robustness_value_alpha: float  # RV_alpha: ... that makes it not significant at 5%
    partial_r2_treatment_outcome: float
    benchmark: str | None  # the strongest observed confounder
    benchmark_r2_treatment: float | None = None
    benchmark_r2_outcome: float | None = None
    adjusted_effect: float | None = None  # with a hidden confounder as strong as the benchmark
    adjusted_ci_low: float | None = None
    adjusted_ci_high: float | None = None
    e_value: float | None = None  # risk-ratio scale, point estimate
    e_value_ci: float | None = None  # for the interval limit closest to the null

    explained_away: bool = False  # see hidden_confounder_explains_away


def hidden_confounder_explains_away(effect: float, adjusted_low: float, adjusted_high: float) -> bool:
    """The benchmark-strength hidden confounder would make the effect not significant or flip its sign."""
    if adjusted_low <= 0.0 <= adjusted_high:
        return True
    return (adjusted_low > 0) != (effect > 0)


class AnalysisResult(BaseModel):
    treatment: str
    outcome: str
    estimator: Estimator
    estimand: Estimand = Estimand.ATE
    adjustment_set: list[str]
    design_columns: list[str]  # the encoded covariates actually adjusted for
    rows: int
    rows_dropped_missing: int = 0  # panel rows without every needed value
    effect: float
    ci_low: float
    ci_high: float
    std_error: float | None
    std_error_kind: str = "ols"  # "cluster:person", "cluster:team", "ols", "sandwich"
    clusters: int | None = None
    naive_effect: float  # the same estimator with no adjustment, to show what confounding does
    diagnostics: Diagnostics | None = None
    sensitivity: Sensitivity | None = None
    refutations: list[Refutation]
    verdict: VerdictLabel
    verdict_reasons: list[str]
    engine: Engine
    engine_reason: str = ""
    seconds: float = 0.0


def judge_refutation(
    refuter: Refuter,
    estimate: Estimate,
    effects: list[float],
    p_value: float | None = None,
) -> Refutation:
    """One refuter as a statistical test (rules in docs/causal.md, "Refuters").

    - placebo: the real estimate must lie outside the placebo distribution (DoWhy's p-value below
      5%), and that distribution must be consistent with zero;
    - dummy outcome: the dummy outcome's effects must be consistent with zero;
    - data subset and random common cause: the mean new estimate stays inside the original interval.
    """
    import statistics

    n = len(effects)
    mean = statistics.fmean(effects)
    spread = statistics.stdev(effects) if n > 1 else 0.0
    # "consistent with zero": zero within the simulated distribution's central 95% (normal approx.)
    zero_inside = abs(mean) <= 1.96 * spread if spread > 0 else mean == 0.0
    if refuter is Refuter.PLACEBO_TREATMENT:
        p = p_value if p_value is not None else 1.0
        passed = zero_inside and p < REFUTER_SIGNIFICANCE
        rule = f"placebo effects consistent with 0 and the estimate outside them (p < {REFUTER_SIGNIFICANCE})"
    elif refuter is Refuter.DUMMY_OUTCOME:
        passed = zero_inside
        rule = "effects on a dummy outcome consistent with 0"
    else:
        passed = estimate.ci_low <= mean <= estimate.ci_high
        rule = "mean new estimate inside the original 95% interval"
    return Refutation(
        refuter=refuter, new_effect=mean, simulations=n, passed=passed, rule=rule, spread=spread, p_value=p_value
    )


def overlap_problems(estimator: Estimator, diagnostics: Diagnostics) -> list[str]:
    """Why the treated and untreated cannot be compared (empty: overlap and balance are fine)."""
    problems: list[str] = []
    o = diagnostics.overlap
    if o.share_outside_support is not None and o.share_outside_support > MAX_SHARE_OUTSIDE_SUPPORT:
        lo, hi = PS_SUPPORT
        problems.append(
            f"{o.share_outside_support:.0%} of units have a propensity outside [{lo}, {hi}] "
            f"(at most {MAX_SHARE_OUTSIDE_SUPPORT:.0%})"
        )
    if o.residual_treatment_share is not None and o.residual_treatment_share < MIN_RESIDUAL_TREATMENT_SHARE:
        problems.append(
            f"the confounders explain {1 - o.residual_treatment_share:.0%} of the treatment's variance: "
            "almost no independent variation is left"
        )
    if estimator is Estimator.PROPENSITY_SCORE_WEIGHTING:
        for arm, ess in (o.effective_sample_size or {}).items():
            size = (o.arm_sizes or {}).get(arm, 0)
            if size and ess < MIN_EFFECTIVE_SHARE * size:
                problems.append(f"effective sample size of the {arm} arm is {ess:.0f} of {size} after weighting")
        if diagnostics.max_abs_smd_after is not None and diagnostics.max_abs_smd_after > MAX_ABS_SMD_AFTER:
            worst = max(diagnostics.balance, key=lambda r: abs(r.smd_after or 0.0))
            problems.append(
                f"{worst.column} is still imbalanced after weighting (SMD {worst.smd_after:+.2f}, "
                f"at most {MAX_ABS_SMD_AFTER})"
            )
    return problems


def verdict(
    estimate: Estimate,
    refutations: list[Refutation],
    diagnostics: Diagnostics | None = None,
    sensitivity: Sensitivity | None = None,
    estimator: Estimator = Estimator.LINEAR_REGRESSION,
) -> tuple[VerdictLabel, list[str]]:
    """THE verdict ladder; the first rung that applies wins, and every failed condition is a reason.

    1. ``insufficient_overlap``: the diagnostics say the groups cannot be compared (no estimate
       from such data should be trusted, whatever its interval);
    2. ``not_significant``: the 95% interval includes 0;
    3. ``fragile``: no refuter ran, or a refuter failed its test;
    4. ``sensitive_to_hidden_confounding``: an unobserved confounder as strong as the strongest
       observed one would make the effect not significant (or sensitivity was not assessed);
    5. ``robust``: none of the above. Only ``robust`` may propose an intervention automatically.
    """
    reasons: list[str] = []
    overlap = overlap_problems(estimator, diagnostics) if diagnostics is not None else []
    reasons += overlap
    if diagnostics is None:
        reasons.append("overlap and balance were not assessed")
    significant = not (estimate.ci_low <= 0.0 <= estimate.ci_high)
    if not significant:
        reasons.append(
            f"the {CONFIDENCE_LEVEL:.0%} interval [{estimate.ci_low:.4g}, {estimate.ci_high:.4g}] includes 0"
        )
    failed = [r for r in refutations if not r.passed]
    if not refutations:
        reasons.append("no refuter was run")
    for r in failed:
        p = f", p={r.p_value:.3g}" if r.p_value is not None else ""
        reasons.append(f"{r.refuter.value} failed: mean new effect {r.new_effect:.4g}{p} ({r.rule})")
    hidden = sensitivity is None or sensitivity.explained_away
    if sensitivity is None:
        reasons.append("sensitivity to unobserved confounding was not assessed")
    elif sensitivity.explained_away:
        reasons.append(
            f"a hidden confounder as strong as {sensitivity.benchmark} would make the effect not significant "
            f"(adjusted interval [{sensitivity.adjusted_ci_low:.4g}, {sensitivity.adjusted_ci_high:.4g}]; "
            f"robustness value {sensitivity.robustness_value_alpha:.3f})"
        )
    label: VerdictLabel
    if overlap or diagnostics is None:
        label = "insufficient_overlap"
    elif not significant:
        label = "not_significant"
    elif failed or not refutations:
        label = "fragile"
    elif hidden:
        label = "sensitive_to_hidden_confounding"
    else:
        label = "robust"
    return label, reasons
