"""A small asyncio circuit breaker and a per-service registry exported as Prometheus metrics.

Why hand-written: pybreaker (installed) only supports async calls through Tornado, and has no
limit on concurrent half-open probes. This one is ~100 lines, clock-injectable, and
property-tested (tests/interventions/test_breaker.py).

CLOSED: calls pass; ``failure_threshold`` consecutive failures open it.
OPEN: calls fail fast with :class:`BreakerOpenError` until ``reset_timeout_s`` has passed.
HALF_OPEN: at most ``half_open_max_calls`` probes run at once; ``success_threshold``
successes close it, any failure opens it again (and restarts the timeout).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

T = TypeVar("T")


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class BreakerOpenError(RuntimeError):
    """The breaker refused the call without trying it (fail fast)."""

    def __init__(self, service: str, retry_in_s: float) -> None:
        super().__init__(f"circuit for {service} is open; retry in {retry_in_s:.1f}s")
        self.service = service
        self.retry_in_s = retry_in_s


@dataclass(frozen=True)
class BreakerConfig:
    failure_threshold: int = 5
    reset_timeout_s: float = 30.0
    half_open_max_calls: int = 1
    success_threshold: int = 1


@dataclass
class CircuitBreaker:
    service: str
    config: BreakerConfig = field(default_factory=BreakerConfig)
    clock: Callable[[], float] = time.monotonic
    state: BreakerState = BreakerState.CLOSED
    failures: int = 0
    successes: int = 0
    in_flight_probes: int = 0
    opened_at: float = 0.0
    transitions: dict[tuple[str, str], int] = field(default_factory=dict)
    rejected: int = 0

    def _move(self, to: BreakerState) -> None:
        key = (self.state.value, to.value)
        self.transitions[key] = self.transitions.get(key, 0) + 1
        self.state = to
        self.failures = 0
        self.successes = 0
        if to is BreakerState.OPEN:
            self.opened_at = self.clock()

    def current_state(self) -> BreakerState:
        """The state, moving OPEN -> HALF_OPEN once the reset timeout has passed."""
        if self.state is BreakerState.OPEN and self.clock() - self.opened_at >= self.config.reset_timeout_s:
            self._move(BreakerState.HALF_OPEN)
        return self.state

    def before_call(self) -> bool:
        """Admit or refuse a call. Returns whether it is a half-open probe."""
        state = self.current_state()
        if state is BreakerState.OPEN:
            self.rejected += 1
            raise BreakerOpenError(self.service, self.config.reset_timeout_s - (self.clock() - self.opened_at))
        if state is BreakerState.HALF_OPEN:
            if self.in_flight_probes >= self.config.half_open_max_calls:
                self.rejected += 1
                raise BreakerOpenError(self.service, 0.0)
            self.in_flight_probes += 1
            return True
        return False

    def on_success(self, probe: bool) -> None:
        if probe:
            self.in_flight_probes -= 1
        if self.state is BreakerState.HALF_OPEN:
            self.successes += 1
            if self.successes >= self.config.success_threshold:
                self._move(BreakerState.CLOSED)
        elif self.state is BreakerState.CLOSED:
            self.failures = 0

    def on_failure(self, probe: bool) -> None:
        if probe:
            self.in_flight_probes -= 1
        if self.state is BreakerState.HALF_OPEN:
            self._move(BreakerState.OPEN)
        elif self.state is BreakerState.CLOSED:
            self.failures += 1
            if self.failures >= self.config.failure_threshold:
                self._move(BreakerState.OPEN)

    async def call(self, fn: Callable[[], Awaitable[T]]) -> T:
        probe = self.before_call()
        try:
            result = await fn()
        except BaseException:
            self.on_failure(probe)
            raise
        self.on_success(probe)
        return result


@dataclass
class BreakerRegistry:
    """One breaker per service name, created on first use with the registry's config."""

    config: BreakerConfig = field(default_factory=BreakerConfig)
    clock: Callable[[], float] = time.monotonic
    breakers: dict[str, CircuitBreaker] = field(default_factory=dict)

    def get(self, service: str) -> CircuitBreaker:
        if service not in self.breakers:
            self.breakers[service] = CircuitBreaker(service, self.config, self.clock)
        return self.breakers[service]


class BreakerCollector(Collector):
    """co_breaker_state{service,state} (1 for the current one) and transitions/rejections counters."""

    def __init__(self, registry: BreakerRegistry) -> None:
        self._registry = registry

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        state = GaugeMetricFamily(
            "co_breaker_state", "circuit breaker state (1 = current)", labels=["service", "state"]
        )
        transitions = CounterMetricFamily(
            "co_breaker_transitions", "circuit breaker state transitions", labels=["service", "from", "to"]
        )
        rejected = CounterMetricFamily("co_breaker_rejected", "calls refused by an open breaker", labels=["service"])
        for name, breaker in sorted(self._registry.breakers.items()):
            current = breaker.current_state()
            for s in BreakerState:
                state.add_metric([name, s.value], 1.0 if s is current else 0.0)
            for (src, dst), count in sorted(breaker.transitions.items()):
                transitions.add_metric([name, src, dst], float(count))
            rejected.add_metric([name], float(breaker.rejected))
        yield state
        yield transitions
        yield rejected
