"""Causal engines: DoWhy on pandas in-process, and the same estimators as Spark aggregations.

Both take an :class:`~shared.domain.analysis.AnalysisSpec` and return an
:class:`~shared.domain.analysis.AnalysisResult`; the verdict rule lives in the domain.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str, float], None]
"""Called with a stage name and the fraction of the run done (0..1)."""

ShouldStop = Callable[[], bool]


class AnalysisCancelled(Exception):
    """The caller asked the engine to stop between steps."""


def no_progress(_: str, __: float) -> None:
    """Default progress sink."""


def never_stop() -> bool:
    return False
