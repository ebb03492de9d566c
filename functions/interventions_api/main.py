"""Interventions API function. ASGI app ``app``; Lambda handler ``handler``."""

from mangum import Mangum

from functions.interventions_api.routes import router
from shared.platform.http import create_app
from shared.platform.resources import Needs

app = create_app(title="Causal Organism interventions API", needs=Needs(pg=True, temporal=True), routers=[router])
handler = Mangum(app, lifespan="auto")
