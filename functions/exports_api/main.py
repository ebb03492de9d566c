"""Exports API function: CSV exports to object storage with pre-signed links. ASGI ``app``; Lambda ``handler``."""

from mangum import Mangum

from functions.exports_api.routes import router
from shared.platform.http import create_app
from shared.platform.resources import Needs

app = create_app(
    title="Causal Organism exports API",
    needs=Needs(pg=True, redis=True, temporal=True, s3=True),
    routers=[router],
    description="Asynchronous CSV exports to S3: status, progress, pre-signed links, cancel.",
)
handler = Mangum(app, lifespan="auto")
