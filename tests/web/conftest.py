"""Browser-test fixtures: the real stack, the dev server (every HTTP function + the web app) as a
process, a graph updater process, an intervention worker in this process, a loopback OpenID
Connect provider, and Debian's chromium driven by Playwright.

The graph is the real email-Eu-core network with pseudonymised ids (as ingest would store them),
so the privacy tests look for real pseudonyms in what a viewer's browser receives.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from ops.browser import CHROMIUM_ARGS
from ops.processes import answers, free_port, serve, settings_env, started, stop
from shared.adapters.datasets import eu_core, synthetic_weight
from shared.adapters.graph.base import PersonRow, TieRow
from shared.adapters.postgres.audit import AuditStore
from shared.domain.privacy import pseudonymise
from shared.platform.resources import Resources
from shared.platform.settings import Settings
from tests.conftest import ROOT
from tests.interventions.conftest import simulator_url  # noqa: F401 - a fixture, used by web_settings
from tests.web.idp import CLIENT_ID
from workflows.intervention import WORKFLOWS
from workflows.intervention.activities import build

SCREENSHOTS = ROOT / "var" / "screenshots"
AXE = ROOT / "tests" / "web" / "node_modules" / "axe-core" / "axe.min.js"
ROLES = ("viewer", "analyst", "approver", "admin")


def chromium_path() -> str:
    import shutil

    found = shutil.which("chromium")
    if found is None:
        pytest.fail("Debian's chromium is not installed: run ./dev setup (ops/install_web_test_deps.sh)")
    return found


@pytest.fixture(scope="session")
def idp() -> Iterator[str]:
    """The loopback OpenID Connect provider (tests/web/idp.py) as its own process."""
    port = int(os.environ.get("CO_TEST_IDP_PORT") or free_port())
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "uvicorn", "tests.web.idp:app", "--host", "127.0.0.1", "--port", str(port)]
    env = {"CO_TEST_IDP_PORT": str(port), "PYTHONPATH": str(ROOT)}
    ready_url = base + "/.well-known/openid-configuration"
    with started(
        command, env, ready_url, timeout_s=30, ready=answers, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    ):
        yield base


@pytest.fixture(scope="session")
def web_settings(settings: Settings, idp: str, simulator_url: str) -> Settings:  # noqa: F811
    return settings.replace(
        **{
            "web_dev_sign_in": True,
            "web_oidc_issuer": idp,
            "web_oidc_client_id": CLIENT_ID,
            "web_heartbeat_s": 2.0,
            "web_poll_interval_s": 1.0,
            "web_live_poll_s": 0.3,
            "simulator_url": simulator_url,
            "intervention_task_queue": f"web-{uuid.uuid4().hex[:8]}",
            "monitoring_window_s": 1.0,
            "rollback_window_s": 60.0,
            "rate_limit_read": 100_000,
            "rate_limit_write": 100_000,
        }
    )


def web_env(s: Settings) -> dict[str, str]:
    return settings_env(
        s,
        CO_WEB_DEV_SIGN_IN="true",
        CO_WEB_OIDC_ISSUER=s.web.oidc_issuer or "",
        CO_WEB_OIDC_CLIENT_ID=s.web.oidc_client_id or "",
        CO_WEB_HEARTBEAT_S=str(s.web.heartbeat_s),
        CO_WEB_POLL_INTERVAL_S=str(s.web.poll_interval_s),
        CO_WEB_LIVE_POLL_S=str(s.web.live_poll_s),
        CO_SIMULATOR_URL=s.interventions.simulator_url,
        CO_INTERVENTION_TASK_QUEUE=s.interventions.intervention_task_queue or "",
        CO_RATE_LIMIT_READ=str(s.ratelimit.read),
        CO_RATE_LIMIT_WRITE=str(s.ratelimit.write),
    )


@pytest.fixture(scope="session")
async def people(resources: Resources, web_settings: Settings, data_dir: Path) -> dict[str, str]:
    """email-Eu-core in the session's graph under pseudonymised ids; returns id -> team."""
    from shared.services.metrics_refresh import refresh_metrics

    teams, edges = eu_core(data_dir)
    key = web_settings.privacy.pseudonymisation_key
    ids = {raw: pseudonymise(raw, key) for raw in teams}
    await resources.graph.upsert_people([PersonRow(id=ids[p], version=1, team=t) for p, t in teams.items()])
    await resources.graph.upsert_ties(
        [TieRow(ids[a], ids[b], 1, synthetic_weight(a, b), 1) for a, b in set(edges) if a in ids and b in ids]
    )
    result = await refresh_metrics(resources, trigger="web-test", force=True, reading="cumulative")
    assert result.status == "succeeded"
    return {ids[p]: t for p, t in teams.items()}


@pytest.fixture(scope="session")
def consumer(web_settings: Settings, people: dict[str, str]) -> Iterator[None]:
    """One graph updater process (the stream consumer), so HTTP ingest reaches the graph."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "functions.graph_updater.main", "--consumer", "web-test"],
        cwd=ROOT,
        env={**os.environ, **web_env(web_settings)},
    )
    yield
    stop(proc, 20)


@pytest.fixture(scope="session")
def web(web_settings: Settings, people: dict[str, str], consumer: None) -> Iterator[str]:
    """The dev server (every HTTP function and the web app) as a process; yields its base URL."""
    with serve("functions.dev_server.main:app", web_env(web_settings), timeout_s=60) as base:
        httpx.get(base + "/app/signin", timeout=30)  # warms the layout library
        yield base


@pytest.fixture(scope="session")
async def worker(web_settings: Settings, resources: Resources) -> AsyncIterator[Client]:
    """An intervention worker in this process on the web server's task queue; yields its client."""
    client = await Client.connect(web_settings.temporal.address, namespace=web_settings.temporal.namespace)
    acts = build(web_settings, AuditStore(resources.pg, web_settings.audit.key))
    with ThreadPoolExecutor(4) as pool:
        async with Worker(
            client,
            task_queue=web_settings.interventions.intervention_task_queue or "",
            workflows=WORKFLOWS,
            activities=acts.all(),
            activity_executor=pool,
        ):
            yield client


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield b
        await b.close()


async def new_page(browser: Any, *, block_outside: bool = True, no_websocket: bool = False) -> tuple[Any, Any]:
    """A fresh context and page on a laptop-sized viewport; requests to anything but loopback fail."""
    context = await browser.new_context(viewport={"width": 1366, "height": 860})
    if block_outside:

        async def only_loopback(route: Any) -> None:
            host = httpx.URL(route.request.url).host
            if host in ("127.0.0.1", "localhost", "::1") or route.request.url.startswith(("data:", "blob:")):
                await route.continue_()
            else:
                await route.abort("internetdisconnected")

        await context.route("**/*", only_loopback)
    if no_websocket:
        await context.add_init_script("delete window.WebSocket; window.WebSocket = undefined;")
    page = await context.new_page()
    return context, page


async def sign_in(page: Any, base: str, role: str) -> None:
    await page.goto(base + "/app/signin")
    await page.select_option("#role", role)
    await page.click("text=Sign in as this role")
    await page.wait_for_url(base + "/app/**")


async def settle(page: Any) -> None:
    """Wait until every live fragment has loaded (no 'Loading…' left)."""
    await page.wait_for_function(
        "() => !Array.from(document.querySelectorAll('[data-live-src]')).some(e => e.textContent.includes('Loading…'))",
        timeout=20_000,
    )


async def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core (npm, pinned) injected into the page; serious and critical violations only."""
    if not AXE.is_file():
        pytest.fail("axe-core is not installed: run ./dev setup (ops/install_web_test_deps.sh)")
    await page.evaluate(AXE.read_text())  # DevTools evaluation: the page's strict CSP stays on
    result = await page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"][:3]]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


async def screenshot(page: Any, name: str, full_page: bool = True) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


async def wait_until(check: Any, timeout_s: float, interval_s: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            return value
        await asyncio.sleep(interval_s)
