"""Betweenness, exact or sampled: the plan for a graph of n people, its error bound, and how a
sampled estimate compares with the exact values (docs/metrics.md, "Betweenness").

Directed, unweighted (hop-count shortest paths), Brandes; normalised by ``(n-1)(n-2)``. Exact up
to ``exact_max_nodes`` people or whenever it fits the time budget; above, estimated from a seeded
uniform sample of pivot sources scaled by ``n/k`` (Brandes & Pich 2007). Pure: the compute
adapter (igraph) runs the plan.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class BetweennessPlan:
    """How betweenness will be computed for a graph of n people.

    ``epsilon``/``delta``: for a sampled plan, the guarantee that with probability at least
    ``1 - delta`` every person's normalised estimate is within ``epsilon`` of the exact value
    (:func:`sampling_error_bound`); 0/0 for an exact plan.
    """

    mode: str  # "exact" | "sampled"
    sources: tuple[int, ...] | None  # None = every person
    scale: float  # multiply the source-restricted sums by this
    epsilon: float = 0.0
    delta: float = 0.0

    @property
    def pivots(self) -> int | None:
        return None if self.sources is None else len(self.sources)

    def error_bound(self) -> dict[str, float | str]:
        """What every refresh reports next to its figures (docs/metrics.md)."""
        if self.mode == "exact":
            return {"mode": "exact", "epsilon": 0.0, "delta": 0.0}
        return {"mode": self.mode, "epsilon": self.epsilon, "delta": self.delta, "pivots": float(self.pivots or 0)}


def sampling_error_bound(n: int, k: int, delta: float) -> float:
    """epsilon such that P(any person's estimate is off by more than epsilon) <= delta.

    Each pivot s contributes X_s = n * dep_s(v) / ((n-1)(n-2)) to the normalised estimate of v,
    with dep_s(v) in [0, n-2], so X_s lies in [0, n/(n-1)]. The estimate is the mean of k such
    draws without replacement, whose expectation is the exact value; Hoeffding's inequality
    (which holds for sampling without replacement) and a union bound over the n people give
    epsilon = R * sqrt(ln(2n/delta) / (2k)), R = n/(n-1). A guarantee, hence conservative: the
    measured errors (docs/metrics.md) are about ten times smaller.
    """
    if k <= 0 or n < 3:
        return 0.0
    if k >= n:
        return 0.0
    spread = n / (n - 1)
    return spread * math.sqrt(math.log(2 * n / delta) / (2 * k))


def exact_fits_budget(n: int, m: int, capacity: float, budget_s: float, cost_ns: float) -> bool:
    """Does exact Brandes (cost ~ n*m) fit ``budget_s`` on ``capacity`` cores' worth of CPU?

    ``cost_ns`` is the measured nanoseconds per (person x tie) on one core (igraph, unweighted
    directed: email-Enron 172 s for 36,691 x 367,660 on this shared machine, i.e. ~12.7 ns; the
    compiled kernel of shared.adapters.brandes: 88 CPU-s, ~6.5 ns, the default). ``capacity`` is what the
    workers will actually get (:func:`available_capacity`), not the core count.
    """
    if budget_s <= 0 or capacity <= 0:
        return False
    return n * m * cost_ns * 1e-9 / capacity <= budget_s


def available_capacity(workers: int, cores: int, load_average: float) -> float:
    """Cores' worth of CPU ``workers`` processes can expect: their count, capped by the cores,
    shrunk by the machine's load (a load of 14 on 2 cores leaves each runnable process a
    seventh of a core: measured here, exact Enron took 1,330 s instead of ~45 s)."""
    usable = float(min(max(1, workers), max(1, cores)))
    if load_average <= cores:
        return usable
    return usable * cores / load_average


def plan_betweenness(
    n: int,
    exact_max_nodes: int,
    pivots: int,
    seed: int,
    *,
    m: int = 0,
    capacity: float = 1.0,
    exact_budget_s: float = 0.0,
    cost_ns: float = 6.5,
    delta: float = 0.05,
) -> BetweennessPlan:
    """Exact up to ``exact_max_nodes`` or whenever it fits the budget on the available capacity;
    otherwise ``pivots`` seeded uniform sources, scaled n/k, with its (epsilon, delta) bound."""
    if n <= exact_max_nodes or pivots >= n or exact_fits_budget(n, m, capacity, exact_budget_s, cost_ns):
        return BetweennessPlan("exact", None, 1.0)
    rng = random.Random(seed)
    sources = tuple(sorted(rng.sample(range(n), pivots)))
    return BetweennessPlan("sampled", sources, n / pivots, sampling_error_bound(n, pivots, delta), delta)


def normalise_betweenness(raw: Sequence[float], n: int, scale: float = 1.0) -> list[float]:
    """Directed normalisation: divide by the (n-1)(n-2) ordered pairs of other people."""
    denom = (n - 1) * (n - 2)
    if denom <= 0:
        return [0.0] * len(raw)
    factor = scale / denom
    return [v * factor for v in raw]


@dataclass(frozen=True)
class SampleError:
    """How far a sampled estimate is from the exact values (all on normalised betweenness)."""

    max_abs: float
    mean_abs: float
    max_abs_relative_to_max: float  # max_abs / max exact value
    top10_overlap: float
    top50_overlap: float
    spearman_top100: float  # rank correlation over the exact top 100


def _ranks(values: Sequence[float]) -> list[float]:
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2.0
        i = j + 1
    return ranks


def sample_error(exact: Sequence[float], estimate: Sequence[float]) -> SampleError:
    """Compare a sampled estimate to the exact values."""
    diffs = [abs(a - b) for a, b in zip(exact, estimate, strict=True)]
    top_exact = sorted(range(len(exact)), key=lambda i: -exact[i])
    top_est = sorted(range(len(estimate)), key=lambda i: -estimate[i])

    def overlap(k: int) -> float:
        k = min(k, len(exact))
        return len(set(top_exact[:k]) & set(top_est[:k])) / k if k else 1.0

    top = top_exact[:100]
    ra, rb = _ranks([exact[i] for i in top]), _ranks([estimate[i] for i in top])
    ma, mb = sum(ra) / len(ra), sum(rb) / len(rb)
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb, strict=True))
    var = math.sqrt(sum((x - ma) ** 2 for x in ra) * sum((y - mb) ** 2 for y in rb))
    biggest = max(exact) if exact else 0.0
    return SampleError(
        max_abs=max(diffs, default=0.0),
        mean_abs=sum(diffs) / len(diffs) if diffs else 0.0,
        max_abs_relative_to_max=(max(diffs, default=0.0) / biggest) if biggest else 0.0,
        top10_overlap=overlap(10),
        top50_overlap=overlap(50),
        spearman_top100=cov / var if var else 1.0,
    )
