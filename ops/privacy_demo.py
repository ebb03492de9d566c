"""The demo's data-protection stage: an export through the API (202, progress, pre-signed link,
download), a dry run of the retention job, and the erasure of one person (by raw id)."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Callable
from typing import Any

import httpx

from shared.platform.resources import Resources
from shared.platform.tokens import mint_token
from shared.services.retention import run_retention


async def _until_finished(
    http: httpx.AsyncClient, url: str, headers: dict[str, str], attempts: int, interval_s: float
) -> dict[str, Any]:
    """Poll a job's status URL (export or erasure) until it leaves queued/running, or give up."""
    for _ in range(attempts):
        job: dict[str, Any] = (await http.get(url, headers=headers)).json()
        if job["status"] not in ("queued", "running"):
            break
        await asyncio.sleep(interval_s)
    return job


async def _run_job(
    http: httpx.AsyncClient,
    out: Callable[[str], None],
    caller: str,
    path: str,
    body: dict[str, str],
    headers: dict[str, str],
    polls: tuple[int, float],
) -> dict[str, Any] | None:
    """Start a job (export or erasure), say how the API answered, and poll its status URL until it
    ends (``polls``: attempts, seconds apart); None when the job was not accepted."""
    started = await http.post(path, json=body, headers=headers)
    out(f"POST {path} ({caller}) -> {started.status_code} id={started.json().get('id')}")
    if started.status_code != 202:
        return None
    return await _until_finished(http, started.json()["status_url"], headers, *polls)


async def demo_stage(resources: Resources, out: Callable[[str], None]) -> None:
    settings = resources.settings
    api = settings.http.api_base_url
    viewer = {"authorization": "Bearer " + mint_token(settings, subject="demo-viewer", roles=["viewer"])}
    async with httpx.AsyncClient(base_url=api, timeout=60) as http:
        job = {"kind": "team_metrics"}
        status = await _run_job(http, out, "viewer, team_metrics", "/v1/exports", job, viewer, (600, 0.2))
        if status is None:
            return
        out(f"export {status['status']}: {status['rows']} rows, {status['bytes']} bytes")
        if status["status"] != "succeeded":
            return
        link_path = f"/v1/exports/{status['id']}/link"
        link = (await http.post(link_path, params={"expires_in_s": 600}, headers=viewer)).json()
        out(f"pre-signed link (10 min): {link['url'][:90]}...")
        body = (await http.get(link["url"])).text
    rows = list(csv.reader(io.StringIO(body)))
    out(f"downloaded CSV: header {rows[0][:4]}..., {len(rows) - 1} teams (withheld teams have no row)")
    report = await run_retention(resources, dry_run=True, actor="demo")
    out(f"retention dry run: would delete {report.deleted}")
    admin = {"authorization": "Bearer " + mint_token(settings, subject="demo-admin", roles=["admin"])}
    async with httpx.AsyncClient(base_url=api, timeout=60) as http:
        job = {"raw_id": "eu-core:80"}
        erasure = await _run_job(
            http, out, "admin, raw id eu-core:80", "/v1/privacy/erasures", job, admin, (1200, 0.25)
        )
        if erasure is None:
            return
    steps = erasure["report"]
    out(
        f"erasure {erasure['status']}: {steps.get('ledger', {}).get('interactions')} interactions, "
        f"{steps.get('ledger', {}).get('counterparts_recomputed')} counterparts recomputed, "
        f"{steps.get('history', {}).get('employee_metrics')} history rows, traces left: {steps.get('verify')}"
    )
