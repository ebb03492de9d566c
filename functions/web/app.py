"""Wires the web app into an HTTP function built by ``create_app`` (its own, or the dev server's):
routes, session cookie, security headers, static assets, templates and HTML error pages."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.middleware.sessions import SessionMiddleware

from functions.web.routes import router
from shared.platform.settings import Settings
from shared.platform.web_headers import SecurityHeadersMiddleware
from shared.platform.web_session import SESSION_COOKIE, SignInRequired, build_oauth, session_secret

HERE = Path(__file__).resolve().parent
STATUS_WORDS = {
    400: "The request was not understood.",
    401: "Please sign in.",
    403: "Your role does not allow this.",
    404: "There is nothing here.",
    409: "That could not be done in the current state.",
    413: "That was too large.",
    422: "Some of what was entered is not valid.",
    429: "Too many requests; wait a moment.",
    500: "Something went wrong on our side.",
    503: "A service this page needs is unavailable right now; try again shortly.",
}


def _is_page(request: Request) -> bool:
    return request.url.path.startswith("/app/") and not request.url.path.startswith("/app/data/")


def _html_errors(app: FastAPI) -> None:
    """Pages answer errors in words (HTML), keeping the status; the API keeps its JSON shape."""
    templates: Jinja2Templates = app.state.templates

    def wrap(original: Any) -> Any:
        async def handler(request: Request, exc: Exception) -> Response:
            response: Response = await original(request, exc)
            if not _is_page(request):
                return response

            message = ""
            with contextlib.suppress(ValueError, KeyError, TypeError, AttributeError):
                message = json.loads(bytes(response.body))["error"]["message"]
            status = response.status_code
            partial = request.headers.get("x-requested-with") == "live" or bool(request.headers.get("hx-request"))
            page = templates.TemplateResponse(
                request,
                "fragments/error.html" if partial else "error.html",
                {
                    "request": request,
                    "user": None,
                    "status": status,
                    "words": STATUS_WORDS.get(status, "Error"),
                    "message": message,
                    "heartbeat_ms": 0,
                    "poll_ms": 0,
                },
                status_code=status,
            )
            for key in ("retry-after", "www-authenticate"):
                if key in response.headers:
                    page.headers[key] = response.headers[key]
            return page

        return handler

    for kind, original in list(app.exception_handlers.items()):
        app.exception_handlers[kind] = wrap(original)

    @app.exception_handler(SignInRequired)
    async def _signin(request: Request, _: SignInRequired) -> Response:
        if request.headers.get("x-requested-with") == "live" or request.headers.get("hx-request"):
            return HTMLResponse(
                '<p class="error" role="alert">Your session has ended. Reload to sign in.</p>', status_code=401
            )
        return RedirectResponse("/app/signin", status_code=303)


def install_web(app: FastAPI, settings: Settings | None = None) -> None:
    settings = settings or app.state.settings
    app.state.web_app = True  # the front page links to it
    app.state.templates = Jinja2Templates(directory=HERE / "templates")
    app.state.oauth = build_oauth(settings)
    app.state.web_views = None
    app.state.live_hub = None
    app.include_router(router)
    app.mount("/app/static", StaticFiles(directory=HERE / "static"), name="web-static")
    _html_errors(app)
    app.add_middleware(SecurityHeadersMiddleware, prefix="/app", oidc_issuer=settings.web.oidc_issuer)
    app.add_middleware(
        SessionMiddleware,
        secret_key=session_secret(settings),
        session_cookie=SESSION_COOKIE,
        max_age=settings.web.session_max_age_s,
        same_site="lax",
        https_only=settings.web.cookie_secure,
    )
