"""The one connector interface (health, capture_state, apply, revert) and its breaker guard.

Every call to an outside system goes through :class:`GuardedConnector`, so a failing system
trips its own breaker (one per service, from a :class:`BreakerRegistry`) and later calls fail
fast instead of piling up. Errors are split into "unavailable" (worth retrying: timeouts, 5xx,
open breaker) and "rejected" (4xx: retrying cannot help).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any, Protocol, TypeVar, runtime_checkable

from shared.adapters.connectors.breaker import CircuitBreaker
from shared.domain.interventions import Action

T = TypeVar("T")


class ConnectorError(RuntimeError):
    """Base for connector failures."""


class ConnectorUnavailable(ConnectorError):
    """The system did not answer usefully (timeout, connection error, 5xx). Retry later."""


class ConnectorRejected(ConnectorError):
    """The system refused the request (4xx). Retrying the same request cannot succeed."""


@runtime_checkable
class Connector(Protocol):
    name: str

    async def health(self) -> bool: ...

    async def capture_state(self, actions: list[Action]) -> list[dict[str, Any]]:
        """The state each action would touch, before any is applied (one entry per action)."""
        ...

    async def apply(self, action: Action, key: str) -> dict[str, Any]:
        """Apply one action; the same ``key`` twice must change the world once."""
        ...

    async def revert(self, action: Action, pre_state: dict[str, Any], key: str) -> dict[str, Any]:
        """Restore what ``action`` touched to ``pre_state``; idempotent by ``key``."""
        ...


@runtime_checkable
class OutcomeSource(Protocol):
    """Per-person outcome series for the monitoring step's difference-in-differences."""

    async def team_members(self, teams: list[str]) -> list[str]:
        """The people of these teams (a team-only intervention's targets)."""
        ...

    async def read_series(
        self, metric: str, people: list[str] | None, start: date, end: date | None
    ) -> dict[str, list[float]]:
        """Each person's values in periods ``start <= period < end`` (``end`` None: open), oldest
        first; ``people`` None reads everyone (the comparison pool). A source without periods
        returns its current value as a one-element series."""
        ...


class GuardedConnector:
    """Wraps a connector so that every call passes through the service's circuit breaker."""

    def __init__(self, inner: Connector, breaker: CircuitBreaker) -> None:
        self.inner = inner
        self.breaker = breaker
        self.name = inner.name

    async def _guard(self, fn: Callable[[], Awaitable[T]]) -> T:
        return await self.breaker.call(fn)

    async def health(self) -> bool:
        return await self._guard(self.inner.health)

    async def capture_state(self, actions: list[Action]) -> list[dict[str, Any]]:
        return await self._guard(lambda: self.inner.capture_state(actions))

    async def apply(self, action: Action, key: str) -> dict[str, Any]:
        return await self._guard(lambda: self.inner.apply(action, key))

    async def revert(self, action: Action, pre_state: dict[str, Any], key: str) -> dict[str, Any]:
        return await self._guard(lambda: self.inner.revert(action, pre_state, key))

    def _source(self) -> OutcomeSource:
        if not isinstance(self.inner, OutcomeSource):
            raise ConnectorRejected(f"{self.name} does not report outcome signals")
        return self.inner

    async def team_members(self, teams: list[str]) -> list[str]:
        source = self._source()
        return await self._guard(lambda: source.team_members(teams))

    async def read_series(
        self, metric: str, people: list[str] | None, start: date, end: date | None
    ) -> dict[str, list[float]]:
        source = self._source()
        return await self._guard(lambda: source.read_series(metric, people, start, end))
