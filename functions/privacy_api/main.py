"""Privacy API function: erasure of one person (admin). ASGI ``app``; Lambda ``handler``."""

from mangum import Mangum

from functions.privacy_api.routes import router
from shared.platform.http import create_app
from shared.platform.resources import Needs

app = create_app(
    title="Causal Organism privacy API",
    needs=Needs(pg=True, temporal=True),
    routers=[router],
    description="Erasure of one person everywhere, as a durable workflow.",
)
handler = Mangum(app, lifespan="auto")
