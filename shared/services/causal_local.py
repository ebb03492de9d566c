"""A causal analysis of a table in hand (an analyst's own CSV): the same checks and the same
pandas pipeline as a durable run, in this process, with nothing stored."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.adapters.causal.design import profile
from shared.adapters.causal.pandas_engine import run_pandas
from shared.domain.analysis import AnalysisSpec, SpecProblem, check_against_data
from shared.domain.causal_verdict import AnalysisResult

if TYPE_CHECKING:
    import pandas as pd


def analyze_frame(frame: pd.DataFrame, spec: AnalysisSpec, min_rows: int, engine_reason: str) -> AnalysisResult:
    """Check the spec against the table (raises SpecProblem), then estimate and refute."""
    if spec.lag:
        frame = lagged_outcome(frame, spec)
    check_against_data(spec, profile(frame, spec), min_rows)
    return run_pandas(frame, spec, engine_reason=engine_reason).model_copy(update={"lag": spec.lag})


def lagged_outcome(frame: pd.DataFrame, spec: AnalysisSpec) -> pd.DataFrame:
    """Each row's outcome replaced by the same person's outcome ``lag`` periods later (the panel
    query's rule for a table in hand); rows without that later period lose their outcome (and are
    dropped as incomplete, counted in rows_dropped_missing)."""
    missing = [c for c in ("employee", "period") if c not in frame.columns]
    if missing:
        raise SpecProblem("lag", f"a lag needs the table's {' and '.join(missing)} column(s)")
    periods = sorted(frame["period"].unique())
    later = {p: periods[i + spec.lag] for i, p in enumerate(periods) if i + spec.lag < len(periods)}
    value = dict(zip(zip(frame["employee"], frame["period"], strict=True), frame[spec.outcome], strict=True))
    shifted = frame.copy()
    targets = zip(frame["employee"], frame["period"].map(later), strict=True)
    shifted[spec.outcome] = [value.get((who, when), float("nan")) for who, when in targets]
    return shifted
