"""Circuit breaker: a hypothesis state machine against a reference model, plus the metrics."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from prometheus_client import CollectorRegistry, generate_latest

from shared.adapters.connectors.breaker import (
    BreakerCollector,
    BreakerConfig,
    BreakerOpenError,
    BreakerRegistry,
    BreakerState,
    CircuitBreaker,
)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class BreakerMachine(RuleBasedStateMachine):
    """Random sequences of calls, completions and time; the breaker must match a simple model."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = Clock()
        self.cfg = BreakerConfig(failure_threshold=3, reset_timeout_s=10, half_open_max_calls=2, success_threshold=2)
        self.b = CircuitBreaker("svc", self.cfg, self.clock)
        self.open_since: float | None = None
        self.consecutive_failures = 0
        self.pending: list[bool] = []  # probe flags of admitted, unfinished calls

    @rule(dt=st.floats(min_value=0, max_value=15))
    def advance(self, dt: float) -> None:
        self.clock.now += dt

    @rule()
    def start_call(self) -> None:
        state = self.b.current_state()
        probes = sum(self.pending)
        try:
            probe = self.b.before_call()
        except BreakerOpenError:
            assert state is BreakerState.OPEN or (state is BreakerState.HALF_OPEN and probes >= 2)
            return
        assert state is not BreakerState.OPEN
        assert probe == (state is BreakerState.HALF_OPEN)
        self.pending.append(probe)

    @precondition(lambda self: self.pending)
    @rule(ok=st.booleans(), idx=st.integers(min_value=0))
    def finish_call(self, ok: bool, idx: int) -> None:
        probe = self.pending.pop(idx % len(self.pending))
        before = self.b.state
        if ok:
            self.b.on_success(probe)
        else:
            self.b.on_failure(probe)
        if before is BreakerState.HALF_OPEN and not ok:
            assert self.b.state is BreakerState.OPEN
            assert self.b.opened_at == self.clock.now
        if before is BreakerState.CLOSED and not ok:
            self.consecutive_failures += 1
        if before is BreakerState.CLOSED and ok:
            self.consecutive_failures = 0
        if before is BreakerState.CLOSED and self.consecutive_failures >= 3:
            assert self.b.state is BreakerState.OPEN
            self.consecutive_failures = 0
        if self.b.state is not BreakerState.CLOSED:
            self.consecutive_failures = 0

    @invariant()
    def probes_are_limited(self) -> None:
        assert 0 <= self.b.in_flight_probes <= self.cfg.half_open_max_calls

    @invariant()
    def open_only_until_timeout(self) -> None:
        if self.b.state is BreakerState.OPEN:
            assert self.clock.now - self.b.opened_at >= 0
            if self.clock.now - self.b.opened_at >= self.cfg.reset_timeout_s:
                assert self.b.current_state() is BreakerState.HALF_OPEN


TestBreakerMachine = BreakerMachine.TestCase


async def test_opens_fails_fast_half_opens_and_recovers() -> None:
    clock = Clock()
    reg = BreakerRegistry(BreakerConfig(failure_threshold=2, reset_timeout_s=5, half_open_max_calls=1), clock)
    b = reg.get("simulator")
    calls = 0

    async def boom() -> None:
        nonlocal calls
        calls += 1
        raise ConnectionError("down")

    async def fine() -> str:
        nonlocal calls
        calls += 1
        return "ok"

    for _ in range(2):
        with pytest.raises(ConnectionError):
            await b.call(boom)
    assert b.current_state() is BreakerState.OPEN
    with pytest.raises(BreakerOpenError):
        await b.call(fine)
    assert calls == 2  # failed fast: the function was not called
    clock.now = 5.0
    assert b.current_state() is BreakerState.HALF_OPEN
    gate = asyncio.Event()

    async def slow() -> str:
        await gate.wait()
        return "ok"

    probe = asyncio.create_task(b.call(slow))
    await asyncio.sleep(0)
    with pytest.raises(BreakerOpenError):  # only one probe at a time
        await b.call(fine)
    gate.set()
    assert await probe == "ok"
    assert b.current_state() is BreakerState.CLOSED
    assert reg.get("simulator") is b and reg.get("webhook") is not b

    registry = CollectorRegistry()
    registry.register(BreakerCollector(reg))
    text = generate_latest(registry).decode()
    assert 'co_breaker_state{service="simulator",state="closed"} 1.0' in text
    assert 'co_breaker_transitions_total{from="closed",service="simulator",to="open"} 1.0' in text
    assert 'co_breaker_transitions_total{from="half_open",service="simulator",to="closed"} 1.0' in text
    assert 'co_breaker_rejected_total{service="simulator"} 2.0' in text
