"""Data-protection tests (exports, retention, erasure, re-key) get their own database, graph,
bucket and Temporal task queue, and a real worker hosting the export and retention workflows."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from pydantic import SecretStr
from temporalio.worker import Worker

from shared.adapters.postgres.databases import scratch_database
from shared.platform.http import create_app
from shared.platform.resources import Needs, Resources, open_resources
from shared.platform.settings import Settings
from shared.platform.tokens import mint_token
from workflows import exports as export_workflows
from workflows.exports import activities as export_activities


@pytest.fixture(scope="session")
async def privacy_dsn(stack_env: dict[str, str], run_id: str) -> AsyncIterator[str]:
    async with scratch_database(stack_env["CO_PG_DSN"], f"co_test_{run_id}_privacy") as dsn:
        yield dsn


@pytest.fixture(scope="session")
def privacy_settings(settings: Settings, privacy_dsn: str, run_id: str) -> Settings:
    return settings.replace(
        **{
            "pg_dsn": SecretStr(privacy_dsn),
            "graph_name": settings.graph.name + "_privacy",
            "temporal_task_queue": f"privacy-test-{run_id}",
            "s3_bucket": f"causal-organism-test-{run_id}",
            "export_part_bytes": 5 * 1024 * 1024,
            "export_progress_interval_s": 0.1,
            "rate_limit_read": 100_000,
            "rate_limit_write": 100_000,
            "rate_limit_prefix": f"co:rl:privacy-test-{run_id}",
            "cache_prefix": f"test:{run_id}:cache",
        }
    )


@pytest.fixture(scope="session")
async def pres(privacy_settings: Settings) -> AsyncIterator[Resources]:
    async with open_resources(privacy_settings, Needs.everything()) as res:
        await res.graph.clear()
        await res.graph.ensure_schema()
        yield res
        await res.graph.clear()
        await asyncio.to_thread(empty_bucket, res.s3, privacy_settings.s3.bucket)


def empty_bucket(s3: object, bucket: str) -> None:
    from botocore.exceptions import ClientError

    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):  # type: ignore[attr-defined]
            for obj in page.get("Contents", []):
                s3.delete_object(Bucket=bucket, Key=obj["Key"])  # type: ignore[attr-defined]
        s3.delete_bucket(Bucket=bucket)  # type: ignore[attr-defined]
    except ClientError:
        pass


@pytest.fixture(scope="session")
async def worker(pres: Resources) -> AsyncIterator[None]:
    """The export workflows on a real Temporal dev server, hosted in this process."""
    client = await pres.temporal()
    with ThreadPoolExecutor(4) as pool:
        async with Worker(
            client,
            task_queue=pres.settings.temporal.task_queue,
            workflows=export_workflows.WORKFLOWS,
            activities=export_activities.build_activities(pres),
            activity_executor=pool,
        ):
            yield


@pytest.fixture(scope="session")
async def api(privacy_settings: Settings, pres: Resources, worker: None) -> AsyncIterator[httpx.AsyncClient]:
    """Every HTTP function's routes (the dev server's app) over ASGI."""
    from functions.dev_server.main import build_app

    app = build_app(privacy_settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api", timeout=120) as http:
            yield http


def auth(settings: Settings, role: str, subject: str | None = None) -> dict[str, str]:
    token = mint_token(settings, subject=subject or f"{role}-1", roles=[role])
    return {"authorization": "Bearer " + token}


__all__ = ["auth", "create_app", "empty_bucket"]
