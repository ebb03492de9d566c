"""Pass/fail gates over Locust's own statistics: read P95, write P95 and the error rate.

Requests are classed by method (GET/HEAD read, anything else write). Each class's P95 comes
from the merged response-time histograms of that class's Locust entries (Locust's own
percentile rule), not from an average of per-endpoint percentiles. The error rate counts every failure (a 5xx,
an unexpected 4xx, a connection error) over every request.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from load.profile import MAX_ERROR_RATE, READ_P95_MS, WRITE_P95_MS

READ_METHODS = frozenset({"GET", "HEAD"})


@dataclass(frozen=True)
class Entry:
    """One row of Locust's statistics: its response-time histogram (Locust's rounded
    milliseconds -> count, failed requests included, as Locust records them) and its failures."""

    method: str
    name: str
    response_times: Mapping[int, int]
    failures: int = 0


def from_locust(stats: Any) -> list[Entry]:
    """Locust's ``RequestStats`` as entries (duck-typed: importing locust patches the process)."""
    return [Entry(e.method, e.name, dict(e.response_times), e.num_failures) for e in stats.entries.values()]


@dataclass(frozen=True)
class ClassFigures:
    requests: int
    failures: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    rps: float


@dataclass(frozen=True)
class GateReport:
    read: ClassFigures
    write: ClassFigures
    error_rate: float
    failures: list[str] = field(default_factory=list)  # one sentence per missed gate

    @property
    def passed(self) -> bool:
        return not self.failures

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}


def percentile(histogram: Mapping[int, int], q: float) -> float:
    """Locust's own rule (``calculate_response_time_percentile``), so figures match its table."""
    total = sum(histogram.values())
    if not total:
        return 0.0
    wanted = int(total * q)
    processed = 0
    for ms in sorted(histogram, reverse=True):
        processed += histogram[ms]
        if total - processed <= wanted:
            return float(ms)
    return 0.0


def _figures(entries: Iterable[Entry], duration_s: float) -> ClassFigures:
    merged: Counter[int] = Counter()
    failures = 0
    for e in entries:
        merged.update(e.response_times)
        failures += e.failures
    requests = sum(merged.values())
    return ClassFigures(
        requests=requests,
        failures=failures,
        p50_ms=percentile(merged, 0.50),
        p95_ms=percentile(merged, 0.95),
        p99_ms=percentile(merged, 0.99),
        rps=round(requests / duration_s, 2) if duration_s > 0 else 0.0,
    )


def evaluate(
    entries: list[Entry],
    duration_s: float = 0.0,
    *,
    read_p95_ms: float = READ_P95_MS,
    write_p95_ms: float = WRITE_P95_MS,
    max_error_rate: float = MAX_ERROR_RATE,
) -> GateReport:
    """The run's figures and every gate it missed; a run with no reads or no writes fails too
    (a profile that silently stopped writing must not pass)."""
    read = _figures((e for e in entries if e.method.upper() in READ_METHODS), duration_s)
    write = _figures((e for e in entries if e.method.upper() not in READ_METHODS), duration_s)
    total = read.requests + write.requests
    errors = read.failures + write.failures
    error_rate = errors / total if total else 1.0
    failures: list[str] = []
    if not read.requests:
        failures.append("no read requests were made")
    if not write.requests:
        failures.append("no write requests were made")
    if read.p95_ms >= read_p95_ms:
        failures.append(f"read P95 {read.p95_ms:.0f} ms >= {read_p95_ms:.0f} ms")
    if write.p95_ms >= write_p95_ms:
        failures.append(f"write P95 {write.p95_ms:.0f} ms >= {write_p95_ms:.0f} ms")
    if error_rate >= max_error_rate:
        failures.append(f"error rate {error_rate:.2%} >= {max_error_rate:.0%} ({errors} of {total})")
    return GateReport(read=read, write=write, error_rate=round(error_rate, 5), failures=failures)


def table(report: GateReport) -> str:
    """The Markdown table docs/benchmarks.md carries for a run."""
    rows = [
        "| class | requests | failures | req/s | P50 ms | P95 ms | P99 ms | gate |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, fig, gate in (("read", report.read, READ_P95_MS), ("write", report.write, WRITE_P95_MS)):
        rows.append(
            f"| {name} | {fig.requests} | {fig.failures} | {fig.rps} | {fig.p50_ms:.0f} | {fig.p95_ms:.0f} "
            f"| {fig.p99_ms:.0f} | P95 < {gate:.0f} ms |"
        )
    rows.append(f"| errors | | | | | | | {report.error_rate:.2%} (< {MAX_ERROR_RATE:.0%}) |")
    return "\n".join(rows)
