"""One trace from the HTTP request through the stream to the consumer's graph write, exported by
each real process to its own OTLP JSON file; JSON log lines carry the ids."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path

import httpx
import pytest
import redis
from cloudevents.conversion import to_binary

from ops.processes import serve, settings_env
from shared.platform.logs import TraceContextFilter, json_formatter
from shared.platform.settings import Settings
from shared.platform.tokens import mint_token
from tests.api.conftest import bearer
from tests.conftest import ROOT
from tests.deploy.manifests import cloud_event as _event
from tests.deploy.manifests import running
from tests.observability.conftest import events, read_spans, wait_span


def wait_consumed(client: redis.Redis, settings: Settings, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        groups = client.xinfo_groups(settings.ingest.stream_name)
        group = next(
            (g for g in groups if g["name"] in (settings.ingest.stream_group, settings.ingest.stream_group.encode())),
            None,
        )
        if (
            group is not None
            and int(group.get("entries-read") or 0) > 0
            and int(group.get("lag") or 0) == 0
            and int(group.get("pending") or 0) == 0
        ):
            return
        time.sleep(0.2)
    raise AssertionError("the consumer did not apply the event in time")


def test_one_trace_from_http_through_the_stream_to_the_graph_write(
    api_settings: Settings, mint: object, tmp_path: Path, run_id: str
) -> None:
    tag = uuid.uuid4().hex[:8]
    settings = api_settings.replace(
        **{"stream_name": f"test:{run_id}:{tag}:interactions", "dead_letter_stream": f"test:{run_id}:{tag}:dead"}
    )
    common = {"otel_span_dir": str(tmp_path), "otel_sampling_ratio": 1.0}
    ingest_env = settings_env(settings, service_name="ingest-http", **common)
    consumer_env = {**os.environ, **settings_env(settings, service_name="graph-updater", **common)}
    consumer_log = (tmp_path / "consumer.log").open("wb")
    consumer = subprocess.Popen(
        [sys.executable, "-m", "functions.graph_updater.main", "--consumer", f"trace-{tag}"],
        cwd=ROOT,
        env=consumer_env,
        stderr=consumer_log,
    )
    try:
        with serve("functions.dev_server.main:app", ingest_env) as base:
            response = httpx.post(
                f"{base}/v1/events",
                json=events(1),
                headers=bearer(mint("service")),
                timeout=30,  # type: ignore[operator]
            )
            assert response.status_code == 202, response.text
            trace_id = response.headers["x-trace-id"]
            assert len(trace_id) == 32 and int(trace_id, 16) != 0
            client = redis.Redis.from_url(settings.redis.url)
            wait_consumed(client, settings)
            wait_span(tmp_path, trace_id, "ingest-http", "POST /v1/events")
            unauthenticated = httpx.post(f"{base}/v1/events", json=events(1), timeout=30)
    finally:
        consumer.send_signal(signal.SIGTERM)
        consumer.wait(timeout=30)
        consumer_log.close()
    assert unauthenticated.status_code == 401 and unauthenticated.headers["x-trace-id"] != trace_id

    spans = read_spans(tmp_path)
    by_trace: dict[str, list[dict[str, str]]] = defaultdict(list)
    for span in spans:
        by_trace[span["trace_id"]].append(span)
    trace = by_trace[trace_id]
    services = {s["service"] for s in trace}
    names = {(s["service"], s["name"]) for s in trace}
    assert services == {"ingest-http", "graph-updater"}, names
    assert ("ingest-http", "POST /v1/events") in names, names
    assert any(svc == "ingest-http" and "XADD" in name for svc, name in names), names  # redis instrumentation
    assert ("graph-updater", "graph-updater batch") in names, names
    assert ("graph-updater", "graph write") in names, names
    assert len({s["file"] for s in trace}) == 2  # one file per process
    batch = next(s for s in trace if s["name"] == "graph-updater batch")
    write = next(s for s in trace if s["name"] == "graph write")
    assert write["parent"] == batch["span_id"]
    assert batch["parent"] in {s["span_id"] for s in trace if s["service"] == "ingest-http"}
    # the ledger write inside the batch is traced by the asyncpg instrumentation
    assert any(s["service"] == "graph-updater" and s["parent"] == batch["span_id"] and s is not write for s in trace)
    # the consumer's log lines are JSON with the trace fields
    lines = [json.loads(line) for line in (tmp_path / "consumer.log").read_text().splitlines() if line.startswith("{")]
    assert lines and all({"trace_id", "span_id", "level", "logger", "service"} <= set(line) for line in lines)


def test_log_lines_are_json_with_the_current_trace_ids() -> None:
    from opentelemetry.sdk.trace import TracerProvider

    tracer = TracerProvider().get_tracer("test")
    record_out: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            record_out.append(self.format(record))

    handler = Capture()
    handler.setFormatter(json_formatter("svc"))
    handler.addFilter(TraceContextFilter())
    logger = logging.getLogger(f"test.{uuid.uuid4().hex}")
    logger.addHandler(handler)
    logger.propagate = False
    logger.warning("outside")
    with tracer.start_as_current_span("work") as span:
        logger.warning("inside %s", "a span")
    outside, inside = (json.loads(line) for line in record_out)
    assert outside["trace_id"] is None and outside["message"] == "outside" and outside["service"] == "svc"
    assert inside["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert inside["span_id"] == format(span.get_span_context().span_id, "016x")
    assert inside["level"] == "WARNING" and inside["message"] == "inside a span"


pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


def test_cloudevents_function_traces_into_the_stream(settings: Settings, tmp_path: Path, run_id: str) -> None:
    """The Flask (functions-framework) function, run as its Knative command: its request span,
    the redis XADD and the traceparent carried by the stream entry belong to one trace."""
    stream = f"test:{run_id}:ce-trace"
    env = settings_env(
        settings,
        CO_STREAM_NAME=stream,
        CO_SERVICE_NAME="ingest-cloudevents",
        CO_OTEL_SPAN_DIR=str(tmp_path),
        CO_OTEL_SAMPLING_RATIO="1.0",
    )
    broker = {"Authorization": f"Bearer {mint_token(settings, subject='broker', roles=['service'])}"}
    headers, body = to_binary(_event(f"trace-{run_id}"))
    with running("ingest-cloudevents", env) as base:
        response = httpx.post(base + "/", headers=headers | broker, content=body, timeout=30)
    assert response.status_code == 200, response.text
    trace_id = response.headers["x-trace-id"]
    client = redis.Redis.from_url(settings.redis.url)
    ((_, entries),) = client.xread({stream: "0"}, count=10)
    client.delete(stream)
    carried = entries[-1][1][b"traceparent"].decode()
    assert carried.split("-")[1] == trace_id  # the consumer continues this trace
    names = {s["name"] for s in read_spans(tmp_path) if s["trace_id"] == trace_id}
    assert any(n.startswith("POST") for n in names) and any("XADD" in n for n in names), names
