"""Local runner: one ASGI process serving every HTTP function's routes, with every dependency.

Production deploys each function on its own (knative/); locally one process keeps the demo
and tests light on a 2-core machine. Add a function's router here when you add the function.
"""

from __future__ import annotations

from fastapi import FastAPI

from functions.analysis_api.routes import router as analysis_router
from functions.exports_api.routes import router as exports_router
from functions.ingest_http.routes import router as ingest_router
from functions.interventions_api.routes import router as interventions_router
from functions.metrics_api.routes import router as metrics_router
from functions.privacy_api.routes import router as privacy_router
from functions.query_api.routes import router as query_router
from functions.web.app import install_web
from shared.platform.http import create_app
from shared.platform.resources import Needs
from shared.platform.settings import Settings


def build_app(settings: Settings | None = None) -> FastAPI:
    routers = [
        query_router,
        ingest_router,
        metrics_router,
        interventions_router,
        analysis_router,
        exports_router,
        privacy_router,
    ]
    app = create_app(
        title="Causal Organism (all HTTP functions)",
        needs=Needs.everything(),
        routers=routers,
        settings=settings,
    )
    install_web(app)  # the web app and its WebSocket under /app
    return app


app = build_app()
