"""Causal analysis API function: outcomes in, durable analyses out. ASGI ``app``; Lambda ``handler``."""

from mangum import Mangum

from functions.analysis_api.routes import router
from shared.platform.http import create_app
from shared.platform.resources import Needs

app = create_app(
    title="Causal Organism analysis API",
    needs=Needs(pg=True, temporal=True),
    routers=[router],
    description="Outcome data per person and period; causal analyses run as durable Temporal workflows.",
)
handler = Mangum(app, lifespan="auto")
