"""A causal analysis of a table in hand (an analyst's own CSV): the same checks and the same
pandas pipeline as a durable run, in this process, with nothing stored."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.adapters.causal.design import profile
from shared.adapters.causal.pandas_engine import run_pandas
from shared.domain.analysis import AnalysisSpec, check_against_data
from shared.domain.causal_verdict import AnalysisResult

if TYPE_CHECKING:
    import pandas as pd


def analyze_frame(frame: pd.DataFrame, spec: AnalysisSpec, min_rows: int, engine_reason: str) -> AnalysisResult:
    """Check the spec against the table (raises SpecProblem), then estimate and refute."""
    check_against_data(spec, profile(frame, spec), min_rows)
    return run_pandas(frame, spec, engine_reason=engine_reason)
