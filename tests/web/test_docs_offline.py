"""The API docs work with no internet access: Swagger UI and ReDoc assets come from the function
itself, for every HTTP function; ``/`` leads a person to the app and the docs."""

from __future__ import annotations

import importlib
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.api.conftest import http_function_modules
from tests.web.conftest import new_page, screenshot


async def test_swagger_ui_lists_the_operations_with_the_outside_blocked(web: str, browser: Any) -> None:
    context, page = await new_page(browser, block_outside=True)
    outside: list[str] = []
    needed = ("script", "stylesheet", "font", "fetch", "xhr", "document")  # (ReDoc's logo image is refused by CSP)
    page.on(
        "request",
        lambda r: (
            outside.append(r.url)
            if r.resource_type in needed and not r.url.startswith((web, "data:", "blob:"))
            else None
        ),
    )
    await page.goto(web + "/docs")
    await page.wait_for_selector(".opblock-summary-path", timeout=20_000)
    paths = await page.locator(".opblock-summary-path").all_inner_texts()
    assert "/v1/events" in {p.strip() for p in paths} and len(paths) > 20
    await screenshot(page, "docs-swagger", full_page=False)
    await page.goto(web + "/redoc")
    await page.wait_for_selector("[data-section-id^='operation/']", state="attached", timeout=20_000)
    assert await page.locator("[data-section-id^='operation/']").count() > 20
    await screenshot(page, "docs-redoc", full_page=False)
    assert outside == [], f"the docs tried to load from outside: {outside}"
    await context.close()


async def test_front_page_leads_to_the_app_and_the_docs(web: str) -> None:
    async with httpx.AsyncClient(base_url=web) as http:
        r = await http.get("/")
        assert r.status_code == 200 and 'href="/app/"' in r.text and 'href="/docs"' in r.text
        for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js"):
            got = await http.get(f"/docs/assets/{asset}")
            assert got.status_code == 200 and len(got.content) > 100_000, asset
        docs = (await http.get("/docs")).text
        assert "/docs/assets/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()
        assert "fonts.googleapis" not in (await http.get("/redoc")).text


@pytest.mark.parametrize("module_name", http_function_modules())
def test_every_function_serves_its_docs_itself(module_name: str, stack_env: dict[str, str]) -> None:
    app: FastAPI = importlib.import_module(module_name).app
    from fastapi.testclient import TestClient

    with TestClient(app) as client:
        page = client.get("/docs")
        assert page.status_code == 200 and "/docs/assets/swagger-ui-bundle.js" in page.text
        assert client.get("/docs/assets/swagger-ui.css").status_code == 200
        assert client.get("/").status_code == 200
