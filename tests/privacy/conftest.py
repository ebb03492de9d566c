"""Data-protection tests (exports, retention, erasure, re-key) each get an organisation of their
own (database, graph, bucket, Temporal task queue, stream and Redis prefixes: ``own_org``), and
the exports tests a real worker hosting the export and retention workflows."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from temporalio.worker import Worker

from shared.adapters.postgres.pool import PgPool
from shared.platform.http import create_app
from shared.platform.resources import Needs, Resources, open_resources
from shared.platform.settings import Settings
from shared.platform.tokens import mint_token
from tests.conftest import database_fixture, own_database
from workflows import exports as export_workflows
from workflows.exports import activities as export_activities


def org_settings(settings: Settings, run_id: str, name: str, dsn: str, **extra: Any) -> Settings:
    """The session's settings for an organisation ``name`` of its own: database ``dsn``, graph,
    bucket, task queue, and streams and Redis prefixes under ``test:<run_id>:`` (swept with the
    session's keys)."""
    return settings.replace(
        **{
            "pg_dsn": SecretStr(dsn),
            "graph_name": f"{settings.graph.name}_{name}",
            "temporal_task_queue": f"{name}-{run_id}",
            "s3_bucket": f"causal-organism-test-{name}-{run_id}",
            "stream_name": f"test:{run_id}:{name}:interactions",
            "dead_letter_stream": f"test:{run_id}:{name}:interactions:dead",
            "cache_prefix": f"test:{run_id}:{name}:cache",
            "rate_limit_prefix": f"test:{run_id}:{name}:rl",
            **extra,
        }
    )


@asynccontextmanager
async def org_resources(settings: Settings, needs: Needs) -> AsyncIterator[Resources]:
    """Pools on ``settings``; its graph empty before and after, its bucket removed after."""
    async with open_resources(settings, needs) as res:
        await res.graph.clear()
        await res.graph.ensure_schema()
        yield res
        await res.graph.clear()
        await asyncio.to_thread(empty_bucket, res.s3, settings.s3.bucket)


@asynccontextmanager
async def own_org(
    settings: Settings, stack_env: dict[str, str], run_id: str, name: str, needs: Needs, **extra: Any
) -> AsyncIterator[Resources]:
    """An organisation of its own (``org_settings`` on a fresh migrated database, dropped after)."""
    async with (
        own_database(stack_env, run_id, name) as dsn,
        org_resources(org_settings(settings, run_id, name, dsn, **extra), needs) as res,
    ):
        yield res


privacy_dsn = database_fixture("privacy_dsn", "privacy")


@pytest.fixture(scope="session")
def privacy_settings(settings: Settings, privacy_dsn: str, run_id: str) -> Settings:
    return org_settings(
        settings,
        run_id,
        "privacy",
        privacy_dsn,
        export_part_bytes=5 * 1024 * 1024,
        export_progress_interval_s=0.1,
        rate_limit_read=100_000,
        rate_limit_write=100_000,
    )


@pytest.fixture(scope="session")
async def pres(privacy_settings: Settings) -> AsyncIterator[Resources]:
    async with org_resources(privacy_settings, Needs.everything()) as res:
        yield res


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


async def finished(api: httpx.AsyncClient, headers: dict[str, str], path: str, timeout_s: float) -> dict[str, Any]:
    """The job at ``path`` (an export, an erasure) once its status is neither queued nor running."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        r = await api.get(path, headers=headers)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        if body["status"] not in ("queued", "running"):
            return body
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{path} did not finish within {timeout_s:.0f} s")
        await asyncio.sleep(0.1)


def auth(settings: Settings, role: str, subject: str | None = None) -> dict[str, str]:
    token = mint_token(settings, subject=subject or f"{role}-1", roles=[role])
    return {"authorization": "Bearer " + token}


__all__ = ["auth", "create_app", "empty_bucket"]


async def plant_wellbeing(pg: PgPool, person: str, value: float) -> None:
    """One outcome row for ``person`` (week of 2026-11-02): personal data erasure and re-keying must reach."""
    await pg.execute(
        "INSERT INTO outcomes (employee, period, metric, value, source) VALUES ($1, $2, 'wellbeing', $3, 'test')",
        person,
        date(2026, 11, 2),
        value,
    )
