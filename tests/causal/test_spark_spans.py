"""A Spark analysis emits its stages as spans in the trace of whatever started it (issue 15):
the engine runs in a thread and its stages are timed there, then recorded as children of the
caller's span (``shared.platform.tracing.record_spans``). A small panel is forced onto Spark
(threshold 100 rows) so the proof stays short; the process's Spark session is reused when
another test created it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import SecretStr

from shared.domain.analysis import AnalysisSpec, Engine, Refuter, Window
from shared.domain.synthetic_org import generate_org
from shared.platform.resources import Needs, open_resources
from shared.platform.settings import Settings
from shared.platform.tracing import tracer
from shared.services.causal_analysis import ProgressState, compute
from shared.services.synthetic_org import load_org
from tests.conftest import own_database

WEEK0 = date(2025, 1, 6)


@pytest.fixture()
def spans() -> Iterator[InMemorySpanExporter]:
    """Finished spans of this process (the SDK provider is installed unless one already is)."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    try:
        yield exporter
    finally:
        exporter.shutdown()  # keeps nothing for the rest of the session


async def test_spark_stages_are_spans_in_the_callers_trace(
    causal_settings: Settings, stack_env: dict[str, str], run_id: str, spans: InMemorySpanExporter
) -> None:
    org = generate_org(7, people=40, weeks=8, first_week=WEEK0)
    spec = AnalysisSpec(
        treatment="meeting_hours",
        outcome="wellbeing",
        confounders=["team"],
        window=Window(start=WEEK0, end=org.weeks[-1]),
        refuters=[Refuter.PLACEBO_TREATMENT],
        refuter_simulations=2,
        sensitivity=False,
    )
    async with own_database(stack_env, run_id, "sparkspans") as dsn:
        settings = causal_settings.replace(pg_dsn=SecretStr(dsn), causal_spark_threshold_rows=100)
        async with open_resources(settings, Needs(pg=True)) as res:
            await load_org(res, org)
            with tracer().start_as_current_span("test request") as root:
                result, provenance = await compute(res, spec, ProgressState())
    assert result.engine is Engine.SPARK and provenance["engine"] == "spark"

    root_ctx = root.get_span_context()
    mine = [s for s in spans.get_finished_spans() if s.context is not None and s.context.trace_id == root_ctx.trace_id]
    stages = sorted((s for s in mine if s.name.startswith("causal stage ")), key=lambda s: s.start_time or 0)
    names = [s.name for s in stages]
    assert names == [
        "causal stage starting",  # validation: the panel profile
        "causal stage load:spark",
        "causal stage model",
        "causal stage estimate",
        "causal stage diagnostics",
        "causal stage refute:placebo_treatment",
    ], names
    for s in stages:
        assert s.parent is not None and s.parent.span_id == root_ctx.span_id, s.name
        assert s.attributes is not None and s.attributes["engine"] == "spark"
    # the stages tile the engine's run inside the request: ordered, not overlapping
    bounds = [(s.start_time or 0, s.end_time or 0) for s in stages]
    assert all(a <= b for a, b in bounds)
    assert all(prev[1] <= nxt[0] for prev, nxt in zip(bounds, bounds[1:], strict=False))
    assert (root.start_time or 0) <= bounds[0][0] and bounds[-1][1] <= (root.end_time or 0)
    # the stage timings in the provenance are the same stages
    assert set(provenance["stage_seconds"]) == {n.removeprefix("causal stage ") for n in names}
