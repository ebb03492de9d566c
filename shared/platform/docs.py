"""API docs that work offline, and a front page, for every HTTP function.

FastAPI's default ``/docs`` and ``/redoc`` load Swagger UI and ReDoc from a public CDN, so
without internet access they are blank pages. The same assets come pinned in the PyPI package
``fastapi-offline`` (Swagger UI bundle + CSS, ReDoc standalone); each function serves them
itself under ``/docs/assets``. ``/`` names what the process serves: the web app when it is
mounted (the dev server, the web function) and the docs.
"""

from __future__ import annotations

from html import escape
from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_PATH = "/docs/assets"
# The docs pages only ever load from this origin: the bundles' few remote references (ReDoc's
# "powered by" logo) are refused by the browser instead of leaking a request to the outside.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def assets_dir() -> Path:
    """The pinned Swagger UI / ReDoc files shipped by ``fastapi-offline``."""
    return Path(str(files("fastapi_offline") / "static"))


def front_page(title: str, has_app: bool) -> str:
    app_link = (
        '<li><a href="/app/">The web app</a>: the organisation, teams, analyses, approvals</li>' if has_app else ""
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="{ASSETS_PATH}/favicon.png">
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#1b1b1b}}
a{{color:#0b4f9c}}</style></head>
<body><main><h1>{escape(title)}</h1><ul>{app_link}
<li><a href="/docs">API reference (Swagger UI)</a>: try the operations with a bearer token</li>
<li><a href="/redoc">API reference (ReDoc)</a></li>
<li><a href="/openapi.json">OpenAPI document</a></li>
<li><a href="/health/ready">Readiness</a></li></ul></main></body></html>"""


def install_docs(app: FastAPI, title: str) -> None:
    """Serve ``/``, ``/docs``, ``/redoc`` and their assets from this process (the app must be built
    with ``docs_url=None, redoc_url=None``)."""
    router = APIRouter(include_in_schema=False)
    openapi_url = app.openapi_url or "/openapi.json"

    @router.get("/", response_class=HTMLResponse)
    async def front() -> HTMLResponse:
        return HTMLResponse(front_page(title, bool(getattr(app.state, "web_app", False))))

    @router.get("/docs", response_class=HTMLResponse)
    async def swagger() -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} - Swagger UI",
            oauth2_redirect_url="/docs/oauth2-redirect",
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PATH}/favicon.png",
        )
        page.headers["Content-Security-Policy"] = DOCS_CSP
        return page

    @router.get("/docs/oauth2-redirect", response_class=HTMLResponse)
    async def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @router.get("/redoc", response_class=HTMLResponse)
    async def redoc() -> HTMLResponse:
        page = get_redoc_html(
            openapi_url=openapi_url,
            title=f"{title} - ReDoc",
            redoc_js_url=f"{ASSETS_PATH}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS_PATH}/favicon.png",
            with_google_fonts=False,
        )
        page.headers["Content-Security-Policy"] = DOCS_CSP
        return page

    app.include_router(router)
    app.mount(ASSETS_PATH, StaticFiles(directory=assets_dir()), name="docs-assets")
