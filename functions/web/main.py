"""Web app function: the pages for analysts and approvers and their WebSocket. ASGI app ``app``.

Scale-to-zero like the other HTTP functions (a Knative Service); Lambda's API Gateway cannot
carry the WebSocket, so this function is deployed on Knative only. The dev server mounts it too.
"""

from __future__ import annotations

from functions.web.app import install_web
from shared.platform.http import create_app
from shared.platform.resources import Needs

app = create_app(
    title="Causal Organism web app",
    needs=Needs(graph=True, redis=True, pg=True, temporal=True),
    routers=[],
)
install_web(app)
