"""OpenTelemetry tracing, configured from settings, and the W3C trace context carried through
the stream.

Tracing is on when ``otlp_endpoint`` (OTLP over HTTP, e.g. a collector's ``:4318``) or
``otel_span_dir`` (OTLP JSON lines, one file per process: tests and local debugging) is set;
otherwise nothing is instrumented and nothing is paid. Sampling is parent-based with
``otel_sampling_ratio`` at the root, so a sampled request stays sampled through the stream, the
consumer and Temporal.

Stream entries carry the producer's ``traceparent``; the consumer's batch span is a child of the
first entry's context (one trace from the HTTP request to the graph write) and links to every
other entry's context (a batch mixes events of many requests). See docs/observability.md.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.instrumentation.propagators import (
    ResponsePropagator,
    default_setter,
    set_global_response_propagator,
)
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.propagators import textmap
from opentelemetry.trace import Link, Span

from shared.platform.settings import Settings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from temporalio.client import Interceptor

TRACEPARENT = "traceparent"
TRACER_NAME = "causal_organism"
_NOT_TRACED = ("health/live", "health/ready", "metrics")


def tracing_enabled(settings: Settings) -> bool:
    return bool(settings.observability.otlp_endpoint or settings.observability.otel_span_dir)


def configure_tracing(settings: Settings) -> TracerProvider | None:
    """Install the process's tracer provider once (the OpenTelemetry API keeps it process-wide,
    as every instrumentation reads it from there). None when tracing is off."""
    if not tracing_enabled(settings):
        return None
    # the SDK only when tracing is on: with no endpoint a function loads the OpenTelemetry API alone
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return current
    provider = TracerProvider(
        resource=Resource.create({SERVICE_NAME: settings.service_name, "deployment.environment": settings.environment}),
        sampler=ParentBased(TraceIdRatioBased(settings.observability.otel_sampling_ratio)),
    )
    if settings.observability.otel_span_dir is not None:
        from shared.platform.span_files import OtlpJsonFileExporter  # protobuf's JSON: only with a span dir

        path = Path(settings.observability.otel_span_dir) / f"{settings.service_name}-{os.getpid()}.jsonl"
        provider.add_span_processor(BatchSpanProcessor(OtlpJsonFileExporter(path), schedule_delay_millis=1000))
    if settings.observability.otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        endpoint = settings.observability.otlp_endpoint.rstrip("/")
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces")))
    trace.set_tracer_provider(provider)
    set_global_response_propagator(TraceIdResponsePropagator())
    _instrument_clients(provider)
    return provider


def _instrument_clients(provider: TracerProvider) -> None:
    """The official instrumentations of the clients every process uses (idempotent)."""
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    for instrumentor in (AsyncPGInstrumentor(), HTTPXClientInstrumentor(), RedisInstrumentor()):
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument(tracer_provider=provider)


def instrument_fastapi(app: Any, settings: Settings) -> None:
    provider = configure_tracing(settings)
    if provider is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    # no "http send"/"http receive" spans per ASGI message: the request span says it all
    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=provider, excluded_urls=",".join(_NOT_TRACED), exclude_spans=["receive", "send"]
    )
    app.add_middleware(UnsampledRequestMiddleware)  # added last, so inside the tracing middleware


def instrument_flask(app: Any, settings: Settings) -> None:
    provider = configure_tracing(settings)
    if provider is None:
        return
    from opentelemetry.instrumentation.flask import FlaskInstrumentor

    FlaskInstrumentor.instrument_app(app, tracer_provider=provider, excluded_urls=",".join(_NOT_TRACED))


def temporal_interceptors(settings: Settings) -> list[Interceptor]:
    """Temporal's OpenTelemetry interceptor (client and worker), so workflows and activities join
    the trace of the request that started them."""
    if configure_tracing(settings) is None:
        return []
    from temporalio.contrib.opentelemetry import TracingInterceptor

    return [TracingInterceptor()]


def tracer() -> trace.Tracer:
    return trace.get_tracer(TRACER_NAME)


def current_trace_context() -> dict[str, str]:
    """The W3C headers (traceparent, tracestate) of the current span; empty when not tracing."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def current_trace_id() -> str | None:
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None


@contextmanager
def only_when_recording() -> Iterator[None]:
    """Client instrumentations off below a span that is not recorded.

    Under an unsampled span (90% of them at a 10% ratio) every child would be dropped anyway, but
    the instrumentations still do their work first: the redis one formats every command of a
    pipeline (1,000 XADDs per ingest request) into its statement before it even asks the sampler.
    Outside any span (a consumer's polling loop) their spans would be roots of traces of their own.
    """
    if trace.get_current_span().is_recording():
        yield
        return
    with suppress_instrumentation():
        yield


class UnsampledRequestMiddleware:
    """Runs an HTTP request whose server span is not recorded with the client instrumentations
    off (:func:`only_when_recording`); the response still names the trace (``X-Trace-Id``)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        with only_when_recording():
            await self.app(scope, receive, send)


@contextmanager
def batch_span(name: str, contexts: Sequence[Mapping[str, str]], **attributes: Any) -> Iterator[Span]:
    """A consumer span: child of the first carried context, linked to the other *sampled* ones
    (a link to an unrecorded trace leads nowhere). The entries of one request carry the same
    context, so each distinct one is parsed once, not once per entry. Unrecorded batches run
    with the client instrumentations off (:func:`only_when_recording`)."""
    distinct = {(c.get(TRACEPARENT), c.get("tracestate")): c for c in contexts if c.get(TRACEPARENT)}
    extracted = [propagate.extract(c) for c in distinct.values()]
    parent = extracted[0] if extracted else otel_context.Context()
    links = [
        Link(span_context)
        for c in extracted[1:]
        if (span_context := trace.get_current_span(c).get_span_context()).is_valid and span_context.trace_flags.sampled
    ]
    with (
        tracer().start_as_current_span(
            name, context=parent, kind=trace.SpanKind.CONSUMER, links=links, attributes=attributes
        ) as span,
        only_when_recording(),
    ):
        yield span


def record_spans(prefix: str, timeline: Sequence[tuple[str, int, int]], **attributes: Any) -> None:
    """Spans for stages timed elsewhere (an engine's thread, a Spark job): ``prefix stage``, each
    from its start to its end (ns), children of the current span."""
    for stage, start_ns, end_ns in timeline:
        span = tracer().start_span(f"{prefix} {stage}", start_time=start_ns, attributes={**attributes, "stage": stage})
        span.end(end_time=end_ns)


class TraceIdResponsePropagator(ResponsePropagator):
    """Every traced response names its trace (``X-Trace-Id``), sampled or not, errors included
    (the instrumentations call it from their outermost middleware), so a caller can quote it."""

    def inject(
        self,
        carrier: textmap.CarrierT,
        context: otel_context.Context | None = None,
        setter: textmap.Setter[textmap.CarrierT] = default_setter,  # type: ignore[assignment]  # as upstream
    ) -> None:
        span_context = trace.get_current_span(context).get_span_context()
        if span_context.is_valid:
            setter.set(carrier, "X-Trace-Id", format(span_context.trace_id, "032x"))
