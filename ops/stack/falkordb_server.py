"""redis-server with the FalkorDB module; AOF + RDB, since the module persists nothing itself."""

from __future__ import annotations

from ops.stack.config import falkordb_paths
from ops.stack.redis_server import Redis


class FalkorDB(Redis):
    name = "falkordb"
    port_key = "falkordb"

    def extra_config(self) -> list[str]:
        return [f"loadmodule {falkordb_paths()[1]}"]

    def probe(self) -> None:
        with self.client() as client:
            reply = client.execute_command("GRAPH.LIST")
        if not isinstance(reply, list):
            raise RuntimeError(f"GRAPH.LIST answered {reply!r}")
