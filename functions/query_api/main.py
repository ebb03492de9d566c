"""Query API function: the moved graph reads, answering 308 to the metrics API for one release
(functions/query_api/routes.py). ASGI app ``app``; Lambda handler ``handler``."""

from mangum import Mangum

from functions.query_api.routes import router
from shared.platform.http import create_app
from shared.platform.resources import Needs

app = create_app(title="Causal Organism query API", needs=Needs(graph=True, redis=True, pg=True), routers=[router])
handler = Mangum(app, lifespan="auto")
