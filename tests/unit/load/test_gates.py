"""The load gates fail a bad run and pass a good one.

Entries are built as Locust records them (rounded-ms histograms, failures included); locust
itself is not imported here: it monkey-patches the process with gevent.
"""

from __future__ import annotations

from collections import Counter

from load.gates import Entry, GateReport, evaluate, percentile, table
from load.profile import BURST_EVENTS_PER_S, MEAN_EVENTS_PER_S, events_due


def run(reads_ms: list[int], writes_ms: list[int], read_errors: int = 0, write_errors: int = 0) -> GateReport:
    entries = [
        Entry("GET", f"/v1/metrics/r{k}", Counter(ms for i, ms in enumerate(reads_ms) if i % 3 == k)) for k in range(3)
    ]
    entries += [
        Entry("POST", f"/v1/w{k}", Counter(ms for i, ms in enumerate(writes_ms) if i % 2 == k)) for k in range(2)
    ]
    if read_errors:
        entries.append(Entry("GET", "/v1/metrics/r0", {5: read_errors}, read_errors))
    if write_errors:
        entries.append(Entry("POST", "/v1/w0", {5: write_errors}, write_errors))
    return evaluate(entries, duration_s=10.0)


def test_a_good_run_passes() -> None:
    report = run([20] * 950 + [150] * 50, [300] * 100)
    assert report.passed, report.failures
    assert report.read.requests == 1000 and report.write.requests == 100
    assert report.read.p95_ms == 150 and report.write.p95_ms == 300 and report.error_rate == 0
    assert "| read | 1000 |" in table(report)


def test_slow_reads_fail_the_read_gate_even_when_each_endpoint_alone_would_pass() -> None:
    # 7 % of all reads are slow: P95 of the merged histogram is slow
    report = run([20] * 930 + [450] * 70, [300] * 100)
    assert not report.passed
    assert report.failures == ["read P95 450 ms >= 200 ms"]


def test_slow_writes_fail_the_write_gate() -> None:
    report = run([20] * 1000, [300] * 90 + [2500] * 10)
    assert [f.split(" ms")[0] for f in report.failures] == ["write P95 2500"]


def test_errors_fail_the_error_gate_at_one_percent() -> None:
    assert run([20] * 1000, [300] * 100, read_errors=10).passed  # 10 / 1110 = 0.9 %
    report = run([20] * 1000, [300] * 100, read_errors=8, write_errors=4)  # 12 / 1112
    assert not report.passed and report.failures[0].startswith("error rate 1.08% >= 1%")
    assert report.read.failures == 8 and report.write.failures == 4


def test_percentile_follows_locusts_rule() -> None:
    """The value at or above which the slowest (1 - q) of the requests lie, as Locust's table says."""
    histogram = {10: 90, 100: 5, 1000: 5}
    assert percentile(histogram, 0.95) == 1000 and percentile(histogram, 0.90) == 100
    assert percentile(histogram, 0.5) == 10 and percentile({}, 0.95) == 0


def test_a_run_that_made_no_writes_fails() -> None:
    report = run([20] * 100, [])
    assert "no write requests were made" in report.failures


def test_producer_schedule_is_the_seed_volume_with_tenfold_bursts() -> None:
    assert round(MEAN_EVENTS_PER_S, 2) == 17.36 and round(BURST_EVENTS_PER_S, 1) == 173.6
    assert events_due(6.0) == int(6 * 173.6)  # the burst at the start of every minute
    assert events_due(60.0) == int(6 * 173.6 + 54 * 17.36)
    assert events_due(120.0) == 2 * events_due(60.0)
