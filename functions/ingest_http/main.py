"""Ingest HTTP function. ASGI app ``app``; Lambda handler ``handler``."""

from mangum import Mangum

from functions.ingest_http.routes import router
from shared.platform.http import create_app
from shared.platform.resources import Needs

app = create_app(title="Causal Organism ingest", needs=Needs(redis=True, temporal=True), routers=[router])
handler = Mangum(app, lifespan="auto")
