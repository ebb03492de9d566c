"""Every route of every HTTP function declares a permission; only health, metrics and docs are public.

Imports each ``functions/*/main.py`` that builds an ASGI app (plus the dev server) and walks its
routes, so a new function or route cannot slip in unguarded.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, APIWebSocketRoute

from shared.platform.http import PUBLIC_PATHS, iter_routes, route_permission
from shared.platform.settings import Settings
from tests.api.conftest import http_function_modules

ROOT = Path(__file__).resolve().parents[2]


def test_there_are_http_functions() -> None:
    modules = http_function_modules()
    assert "functions.dev_server.main" in modules and "functions.query_api.main" in modules


@pytest.mark.parametrize("module_name", http_function_modules())
def test_every_route_declares_a_permission(module_name: str, stack_env: dict[str, str], api_settings: Settings) -> None:
    module = importlib.import_module(module_name)
    app = getattr(module, "app", None)
    assert isinstance(app, FastAPI), f"{module_name} has no FastAPI `app`"
    unguarded = []
    seen = 0
    for path, methods, route in iter_routes(app):
        seen += 1
        if path in PUBLIC_PATHS:
            continue
        if isinstance(route, APIRoute | APIWebSocketRoute):
            if route_permission(route) is None:
                unguarded.append(f"{sorted(methods)} {path}")
        else:  # plain Starlette routes, mounts and websockets cannot declare a permission
            unguarded.append(f"({type(route).__name__}) {path}")
    assert seen > 6, f"{module_name}: the walk found no routes"
    assert unguarded == [], f"{module_name}: routes without a declared permission: {unguarded}"


@pytest.mark.parametrize("module_name", http_function_modules())
def test_openapi_documents_auth_and_errors(module_name: str, stack_env: dict[str, str]) -> None:
    app: FastAPI = importlib.import_module(module_name).app
    spec = app.openapi()
    if all(path in PUBLIC_PATHS for path in spec["paths"]):  # e.g. the web app: pages are not API operations
        return
    schemes = spec["components"]["securitySchemes"]
    assert {"type": "http", "scheme": "bearer"}.items() <= next(iter(schemes.values())).items()
    assert "ErrorResponse" in spec["components"]["schemas"]
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if path in PUBLIC_PATHS:
                assert "security" not in op, f"{method} {path} is public but documents security"
                continue
            assert op.get("security"), f"{method} {path} documents no security"
            assert "x-required-permission" in op
            for status in ("401", "403", "429"):
                ref = op["responses"][status]["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/ErrorResponse"), f"{method} {path} {status}"
            if method in ("post", "put", "patch"):
                assert "413" in op["responses"] and "422" in op["responses"], f"{method} {path}"
