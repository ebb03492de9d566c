"""The Temporal worker's own telemetry against the real dev server: the SDK's Prometheus endpoint
(``CO_WORKER_SDK_METRICS_PORT``) serves ``temporal_*`` series once a workflow has run, and the
Sentry interceptor reports a failing activity exactly once (not once per retry) with its
workflow id and nothing personal (capturing transport)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest
import sentry_sdk
from pydantic import SecretStr
from temporalio import activity, workflow
from temporalio.client import Client, WorkflowFailureError
from temporalio.common import RetryPolicy
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from shared.adapters.temporal_client import connect as connect_temporal
from shared.platform.error_reporting import init_error_reporting
from shared.platform.settings import Settings
from tests.conftest import free_port
from tests.observability.conftest import RELEASE, CapturingTransport
from workflows.worker import temporal_runtime, worker_interceptors

EMAIL = "jane.doe@example.org"
TOKEN = "eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LXBheWxvYWQ.c2lnbmF0dXJlLXBhcnQ"
RAW_ID = "4711902233"  # an employee number


@activity.defn(name="telemetry.fail")
async def failing_activity(who: str) -> None:
    raise RuntimeError(f"connector refused {who} with token={TOKEN} for {RAW_ID}")


@activity.defn(name="telemetry.ok")
async def ok_activity(n: int) -> int:
    return n + 1


@workflow.defn(name="TelemetryFailingWorkflow")
class FailingWorkflow:
    @workflow.run
    async def run(self, who: str) -> None:
        await workflow.execute_activity(
            failing_activity,
            who,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(maximum_attempts=3, initial_interval=timedelta(milliseconds=100)),
        )


@workflow.defn(name="TelemetryOkWorkflow")
class OkWorkflow:
    @workflow.run
    async def run(self, n: int) -> int:
        return await workflow.execute_activity(ok_activity, n, start_to_close_timeout=timedelta(seconds=10))


def worker(client: Client, queue: str, executor: ThreadPoolExecutor, interceptors: list) -> Worker:  # type: ignore[type-arg]
    return Worker(
        client,
        task_queue=queue,
        workflows=[FailingWorkflow, OkWorkflow],
        activities=[failing_activity, ok_activity],
        activity_executor=executor,
        workflow_runner=UnsandboxedWorkflowRunner(),
        interceptors=interceptors,
    )


@pytest.fixture()
def sentry_transport(api_settings: Settings) -> Iterator[CapturingTransport]:
    capturing = CapturingTransport()
    settings = api_settings.replace(sentry_dsn=SecretStr("https://public@sentry.example.com/1"), release=RELEASE)
    assert init_error_reporting(settings, transport=capturing)
    try:
        yield capturing
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.get_global_scope().set_client(None)  # off again for the rest of the session


async def test_sdk_metrics_endpoint_serves_temporal_series_after_a_workflow(api_settings: Settings) -> None:
    port = free_port()
    settings = api_settings.replace(worker_sdk_metrics_port=port)
    runtime = temporal_runtime(settings)
    assert runtime is not None and temporal_runtime(api_settings.replace(worker_sdk_metrics_port=0)) is None
    client = await connect_temporal(settings, runtime=runtime)
    queue = f"telemetry-{uuid.uuid4().hex[:8]}"
    with ThreadPoolExecutor(2) as executor:
        async with worker(client, queue, executor, []):
            assert await client.execute_workflow(OkWorkflow.run, 41, id=f"{queue}-ok", task_queue=queue) == 42
            body = httpx.get(f"http://{settings.observability.metrics_bind_host}:{port}/metrics", timeout=10).text
    series = {line.split("{")[0].split(" ")[0] for line in body.splitlines() if line.startswith("temporal_")}
    assert "temporal_workflow_completed" in series, sorted(series)
    assert any(s.startswith("temporal_activity_execution_latency") for s in series), sorted(series)
    assert any(s.startswith("temporal_request") for s in series), sorted(series)
    completed = [
        line for line in body.splitlines() if line.startswith("temporal_workflow_completed") and f'"{queue}"' in line
    ]
    assert completed and float(completed[0].rsplit(" ", 1)[1]) >= 1, completed


async def test_a_failing_activity_reaches_sentry_once_with_its_workflow_id(
    api_settings: Settings, sentry_transport: CapturingTransport
) -> None:
    interceptors = worker_interceptors()
    assert interceptors, "the interceptor is installed whenever Sentry is on"
    client = await connect_temporal(api_settings)
    queue = f"telemetry-{uuid.uuid4().hex[:8]}"
    wf_id = f"{queue}-fails"
    with ThreadPoolExecutor(2) as executor:
        async with worker(client, queue, executor, interceptors):
            with pytest.raises(WorkflowFailureError):
                await client.execute_workflow(FailingWorkflow.run, EMAIL, id=wf_id, task_queue=queue)
            history = [e async for e in client.get_workflow_handle(wf_id).fetch_history_events()]
    attempts = [e for e in history if e.HasField("activity_task_started_event_attributes")]
    assert attempts and attempts[-1].activity_task_started_event_attributes.attempt == 3  # retried twice
    sentry_sdk.flush()
    events = sentry_transport.events()
    assert len(events) == 1, [e.get("tags") for e in events]  # once, not once per attempt
    tags = events[0]["tags"]
    assert tags["workflow_id"] == wf_id and tags["activity"] == "telemetry.fail"
    assert events[0]["release"] == RELEASE
    assert events[0]["exception"]["values"][-1]["type"] == "RuntimeError"
    envelope = sentry_transport.raw().decode("utf-8", "replace") + json.dumps(events)
    for personal in (EMAIL, TOKEN, RAW_ID, "jane.doe"):
        assert personal not in envelope, personal
