"""The seed's volume as request rates (docs/benchmarks.md, "Load profile", shows the arithmetic).

2,000 employees produce 1.5 M interaction events a day. Spread over 24 h that is
1,500,000 / 86,400 = 17.36 events/s; bursts run at 10x that, 173.6 events/s. The producer
user replays the rate as a schedule: the mean rate all the time, and a burst at 10x for
``BURST_S`` seconds of every ``BURST_EVERY_S`` (a deliberately hotter run than the day's mean).
"""

from __future__ import annotations

from dataclasses import dataclass

EMPLOYEES = 2_000
EVENTS_PER_DAY = 1_500_000
SECONDS_PER_DAY = 86_400
BURST_FACTOR = 10
BURST_S = 6.0
BURST_EVERY_S = 60.0

MEAN_EVENTS_PER_S = EVENTS_PER_DAY / SECONDS_PER_DAY  # 17.36
BURST_EVENTS_PER_S = MEAN_EVENTS_PER_S * BURST_FACTOR  # 173.6


def events_due(elapsed_s: float) -> int:
    """Events the schedule has produced after ``elapsed_s`` seconds (the integral of the rate):
    the mean rate outside bursts, 10x inside the first ``BURST_S`` seconds of every minute."""
    cycles, into = divmod(max(0.0, elapsed_s), BURST_EVERY_S)
    per_cycle = BURST_S * BURST_EVENTS_PER_S + (BURST_EVERY_S - BURST_S) * MEAN_EVENTS_PER_S
    burst_part = min(into, BURST_S)
    calm_part = max(0.0, into - BURST_S)
    return int(cycles * per_cycle + burst_part * BURST_EVENTS_PER_S + calm_part * MEAN_EVENTS_PER_S)


def run_mean_events_per_s() -> float:
    """The schedule's own mean (higher than the day's: bursts come on top of the mean)."""
    return events_due(BURST_EVERY_S * 100) / (BURST_EVERY_S * 100)


@dataclass(frozen=True)
class Run:
    """One named headless run: users, spawn rate and duration (Locust's -u, -r, -t)."""

    name: str
    users: int
    spawn_rate: float
    run_time_s: int


RUNS = {
    "smoke": Run("smoke", users=20, spawn_rate=10, run_time_s=60),
    "full": Run("full", users=100, spawn_rate=5, run_time_s=600),
}

# Gates (issue 18): the command fails when any is missed.
READ_P95_MS = 200.0
WRITE_P95_MS = 2_000.0
MAX_ERROR_RATE = 0.01
