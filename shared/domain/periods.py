"""Periods the networks are read over: the rolling window and closed calendar periods.

- the **window** is the last ``window_days`` (28) up to now, sliding: the live reading;
- a **week** is Monday 00:00 to the next Monday 00:00 UTC; a **month** is a calendar month
  (UTC, like the causal panel's ``date_trunc``); a period is *closed* once its end has passed,
  and only closed periods are written to the history (a period's figures never change after).

Intervals are half-open ``[start, end)``. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

PeriodKind = Literal["week", "month"]
PERIOD_KINDS: tuple[PeriodKind, ...] = ("week", "month")


@dataclass(frozen=True, order=True)
class Period:
    """One interval the graph is built over; ``kind`` is week, month or window."""

    start: datetime
    end: datetime
    kind: str

    @property
    def label(self) -> date:
        """The period's key in the history: its first day."""
        return self.start.date()

    @property
    def days(self) -> float:
        return (self.end - self.start).total_seconds() / 86400.0


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def period_start(kind: PeriodKind, at: datetime) -> datetime:
    """The start of the period of ``kind`` that contains ``at``."""
    day = at.astimezone(UTC).date()
    if kind == "week":
        return _midnight(day - timedelta(days=day.weekday()))
    if kind == "month":
        return _midnight(day.replace(day=1))
    raise ValueError(f"unknown period kind: {kind!r}")


def next_start(kind: PeriodKind, start: datetime) -> datetime:
    if kind == "week":
        return start + timedelta(days=7)
    if kind == "month":
        first = start.date()
        return _midnight(date(first.year + (first.month == 12), first.month % 12 + 1, 1))
    raise ValueError(f"unknown period kind: {kind!r}")


def period_of(kind: PeriodKind, at: datetime) -> Period:
    start = period_start(kind, at)
    return Period(start, next_start(kind, start), kind)


def period_at(kind: PeriodKind, label: date) -> Period:
    """The period whose first day is ``label`` (rejects a day that does not start one)."""
    period = period_of(kind, _midnight(label))
    if period.label != label:
        raise ValueError(f"{label.isoformat()} does not start a {kind}")
    return period


def closed_periods(kind: PeriodKind, since: datetime, now: datetime) -> Iterator[Period]:
    """Every period of ``kind`` that overlaps ``[since, now)`` and has ended by ``now``, oldest first."""
    start = period_start(kind, since)
    while True:
        end = next_start(kind, start)
        if end > now:
            return
        yield Period(start, end, kind)
        start = end


def rolling_window(now: datetime, days: int) -> Period:
    """The live reading: the last ``days`` days up to ``now``."""
    if days < 1:
        raise ValueError("a window is at least one day")
    end = now.astimezone(UTC)
    return Period(end - timedelta(days=days), end, "window")


def previous(kind: PeriodKind, period: Period) -> Period:
    """The period just before ``period`` (for period-over-period change)."""
    return period_of(kind, period.start - timedelta(seconds=1))
