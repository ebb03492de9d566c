"""Metrics API function: materialised network metrics and their history. ASGI ``app``; Lambda ``handler``."""

from mangum import Mangum

from functions.metrics_api.routes import router
from shared.platform.http import create_app
from shared.platform.resources import Needs

app = create_app(
    title="Causal Organism metrics API",
    needs=Needs(graph=True, redis=True, pg=True, temporal=True),  # redis: the graph-build state
    routers=[router],
    description="Network metrics as materialised values (refreshed on a schedule) and their history.",
)
handler = Mangum(app, lifespan="auto")
