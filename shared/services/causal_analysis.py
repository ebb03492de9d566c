"""Causal analysis use cases: take outcomes in, validate a spec against the data, start a durable
run, and (inside the workflow's activity) build the panel, pick the engine, run it, store the
result with its provenance exactly once.

Engine choice: the complete panel's row count against ``causal_spark_threshold_rows``. The
pandas engine gets the panel fetched by asyncpg; the Spark engine reads the same SQL over JDBC.
"""

from __future__ import annotations

import asyncio
import platform
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shared.adapters.causal import AnalysisCancelled
from shared.adapters.causal.pandas_engine import run_pandas
from shared.adapters.causal.spark_design import read_panel, spark_session
from shared.adapters.causal.spark_engine import run_spark
from shared.adapters.postgres.causal_store import CausalStore
from shared.adapters.postgres.panel import fetch_panel, panel_sql, profile_panel
from shared.domain.analysis import AnalysisSpec, DataProfile, Engine, check_against_data, check_engine, choose_engine
from shared.domain.causal_verdict import AnalysisResult
from shared.domain.outcomes import AttributeRecord, OutcomeRecord
from shared.domain.privacy import pseudonymise
from shared.platform.resources import Resources
from shared.platform.settings import Settings
from shared.platform.tracing import record_spans
from workflows.analysis import client as analysis_client
from workflows.analysis.contract import AnalysisInput, RunResult

# ---- outcomes ---------------------------------------------------------------------------


async def store_outcomes(
    resources: Resources, records: Sequence[tuple[OutcomeRecord, str | None]], default_source: str
) -> int:
    """Pseudonymise at the door, then upsert; raw ids never reach storage."""
    key = resources.settings.privacy.pseudonymisation_key
    rows = [
        (pseudonymise(r.employee, key), r.period, r.metric, r.value, source or default_source) for r, source in records
    ]
    return await CausalStore(resources.pg).upsert_outcomes(rows)


async def store_attributes(resources: Resources, records: Sequence[AttributeRecord]) -> int:
    key = resources.settings.privacy.pseudonymisation_key
    rows = [(pseudonymise(r.employee, key), r.tenure_years, r.role, r.team) for r in records]
    return await CausalStore(resources.pg).upsert_attributes(rows)


# ---- validation and start ----------------------------------------------------------------


async def validate(resources: Resources, spec: AnalysisSpec) -> DataProfile:
    """Check the spec against the data in PostgreSQL; raises SpecProblem (-> 422)."""
    async with resources.pg.acquire(timeout_s=None) as conn:
        profile = await profile_panel(conn, spec)
    check_against_data(spec, profile, resources.settings.causal.min_rows)
    check_engine(spec, choose_engine(profile.rows, resources.settings.causal.spark_threshold_rows)[0])
    return profile


@dataclass(frozen=True)
class RunOptions:
    """Per-run knobs carried in the workflow input (so a retry uses the same ones)."""

    heartbeat_timeout_s: float
    activity_timeout_s: float
    max_attempts: int


def run_options(settings: Settings) -> RunOptions:
    return RunOptions(
        heartbeat_timeout_s=settings.causal.heartbeat_timeout_s,
        activity_timeout_s=settings.causal.activity_timeout_s,
        max_attempts=settings.causal.max_attempts,
    )


async def start_analysis(resources: Resources, spec: AnalysisSpec, requested_by: str | None) -> tuple[str, DataProfile]:
    """Validate, record, and start the durable workflow; returns (analysis id, data profile)."""
    profile = await validate(resources, spec)
    store = CausalStore(resources.pg)
    analysis_id = await store.create(spec.model_dump(mode="json"), requested_by)
    client = await resources.temporal()
    opts = run_options(resources.settings)
    inp = AnalysisInput(
        analysis_id=analysis_id,
        heartbeat_timeout_s=opts.heartbeat_timeout_s,
        activity_timeout_s=opts.activity_timeout_s,
        max_attempts=opts.max_attempts,
    )
    await analysis_client.start(client, resources.settings.temporal.task_queue, inp)
    return analysis_id, profile


async def finish_unsuccessfully(resources: Resources, analysis_id: str, status: str, error: str) -> None:
    """Record a cancelled or finally failed run (the workflow's last activity)."""
    await CausalStore(resources.pg).finish_unsuccessfully(analysis_id, status, error)


async def record_for_workflow(resources: Resources, spec_json: dict[str, Any], workflow_id: str) -> str:
    """A workflow started with a bare spec: validate it and record it once (id from workflow id)."""
    spec = AnalysisSpec.model_validate(spec_json)
    await validate(resources, spec)
    return await CausalStore(resources.pg).create(spec.model_dump(mode="json"), "workflow", workflow_id)


# ---- execution (inside the activity) -------------------------------------------------------


@dataclass
class ProgressState:
    """Latest engine progress, written from the engine's thread, read by the heartbeat loop."""

    stage: str = "starting"
    fraction: float = 0.0
    stop: threading.Event = field(default_factory=threading.Event)
    started: float = field(default_factory=time.perf_counter)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    timeline: list[tuple[str, int, int]] = field(default_factory=list)  # (stage, start ns, end ns): trace spans
    started_ns: int = field(default_factory=time.time_ns)

    def update(self, stage: str, fraction: float) -> None:
        """Record a stage; the time since the previous one is charged to the previous stage."""
        now, now_ns = time.perf_counter(), time.time_ns()
        self.stage_seconds[self.stage] = round(self.stage_seconds.get(self.stage, 0.0) + now - self.started, 3)
        self.timeline.append((self.stage, self.started_ns, now_ns))
        self.started, self.started_ns = now, now_ns
        self.stage, self.fraction = stage, round(fraction, 3)

    def snapshot(self) -> dict[str, Any]:
        return {"stage": self.stage, "fraction": self.fraction}


def library_versions(engine: Engine) -> dict[str, str]:
    import numpy
    import pandas

    versions = {"python": platform.python_version(), "numpy": numpy.__version__, "pandas": pandas.__version__}
    if engine is Engine.PANDAS:
        import dowhy
        import sklearn
        import statsmodels

        versions |= {
            "dowhy": dowhy.__version__,
            "statsmodels": statsmodels.__version__,
            "sklearn": sklearn.__version__,
        }
    else:
        import pyspark

        versions["pyspark"] = pyspark.__version__
    return versions


async def compute(
    resources: Resources, spec: AnalysisSpec, state: ProgressState, profile: DataProfile | None = None
) -> tuple[AnalysisResult, dict[str, Any]]:
    """Build the panel, choose the engine, run it (in a thread); returns (result, provenance)."""
    settings = resources.settings
    profile = profile or await validate(resources, spec)
    engine, reason = choose_engine(profile.rows, settings.causal.spark_threshold_rows)
    state.update(f"load:{engine.value}", 0.0)
    started = time.perf_counter()
    if engine is Engine.PANDAS:
        async with resources.pg.acquire(timeout_s=None) as conn:
            frame = await fetch_panel(conn, spec)
        result = await asyncio.to_thread(
            run_pandas,
            frame,
            spec,
            progress=state.update,
            should_stop=state.stop.is_set,
            engine_reason=reason,
        )
    else:
        result = await asyncio.to_thread(_run_on_spark, settings, spec, state, reason)
    # the panel query leaves out rows missing a needed value; the profile counted them
    dropped = profile.rows_dropped_missing + result.rows_dropped_missing
    result = result.model_copy(update={"rows_dropped_missing": dropped, "lag": spec.lag})
    record_spans("causal stage", state.timeline, engine=engine.value)  # the engine's stages (Spark's too) as spans
    provenance = {
        "data_window": spec.window.model_dump(mode="json") if spec.window else None,
        "period": spec.period,
        "lag": spec.lag,
        "rows": result.rows,
        "rows_dropped_missing": dropped,
        "engine": engine.value,
        "engine_reason": reason,
        "spark_master": settings.causal.spark.master if engine is Engine.SPARK else None,
        "library_versions": library_versions(engine),
        "seed": spec.seed,
        "refuter_simulations": spec.refuter_simulations,
        "panel_sql_sha256": _sha256(panel_sql(spec)),
        "seconds": round(time.perf_counter() - started, 3),
        "stage_seconds": dict(state.stage_seconds),
        "completed_at": datetime.now(UTC).isoformat(),
        "host": platform.node(),
    }
    return result, provenance


def _sha256(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()


def _run_on_spark(settings: Settings, spec: AnalysisSpec, state: ProgressState, reason: str) -> AnalysisResult:
    spark = spark_session(settings)
    panel = read_panel(spark, settings, panel_sql(spec))
    return run_spark(panel, spec, progress=state.update, should_stop=state.stop.is_set, engine_reason=reason)


async def execute_stored(
    resources: Resources,
    analysis_id: str,
    attempt: int,
    heartbeat: Callable[[dict[str, Any]], None],
    on_progress: Callable[[dict[str, Any]], Any] | None = None,
    tick_s: float = 1.0,
) -> RunResult:
    """Run a stored analysis once (the activity body). Idempotent: a finished one returns as is.

    ``heartbeat`` is called every ``tick_s`` with the progress; ``on_progress`` (async) when it
    changes (the activity writes it to the analyses row and tells the workflow).
    """
    store = CausalStore(resources.pg)
    row = await store.get(analysis_id)
    if row is None:
        raise LookupError(f"no analysis {analysis_id}")
    if row.status == "succeeded":
        return RunResult("succeeded", already=True)
    if not await store.mark_running(analysis_id, attempt):
        current = await store.get(analysis_id)
        return RunResult(current.status if current else "missing", already=True)
    spec = AnalysisSpec.model_validate(row.spec)
    state = ProgressState()
    task = asyncio.ensure_future(compute(resources, spec, state))
    last: dict[str, Any] = {}
    try:
        while not task.done():
            snap = state.snapshot() | {"attempt": attempt}
            heartbeat(snap)
            if snap != last:
                last = snap
                await store.set_progress(analysis_id, snap)
                if on_progress is not None:
                    await on_progress(snap)
            await asyncio.wait({task}, timeout=tick_s)
    except asyncio.CancelledError:
        state.stop.set()  # the engine stops at its next step; the workflow records 'cancelled'
        task.cancel()
        raise
    try:
        result, provenance = task.result()
    except AnalysisCancelled:
        raise asyncio.CancelledError() from None
    provenance["attempt"] = attempt
    stored = await store.complete(analysis_id, result.model_dump(mode="json"), provenance)
    return RunResult("succeeded", already=not stored, verdict=result.verdict)
