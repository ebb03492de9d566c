"""Exec readiness probes for the long-running pods (graph updater, Temporal worker).

    python -m shared.platform.probes graph-updater | temporal-worker

Neither pod serves HTTP requests, so Kubernetes runs this in the container: it opens the
component's dependencies the way the process does (the same settings, the same ``Needs``) and
checks each with a real, time-bounded request (``Resources.readiness``). Exit 0 and one JSON line
when every check passes, exit 1 otherwise (the failing dependency named, no error text).
Liveness is an HTTP GET on the pod's metrics port instead (cheap, no interpreter start).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from shared.platform.resources import Needs, open_resources
from shared.platform.settings import load_settings

CHECK_TIMEOUT_S = 10.0  # per dependency; the manifests' probe timeoutSeconds (15) covers it

COMPONENT_NEEDS = {
    "graph-updater": Needs(graph=True, redis=True, pg=True),  # functions/graph_updater/main.py
    "temporal-worker": Needs(graph=True, redis=True, pg=True, s3=True, temporal=True),  # workflows/worker.py
}


async def check(component: str) -> dict[str, dict[str, object]]:
    needs = COMPONENT_NEEDS[component]
    async with open_resources(load_settings(), needs) as resources:
        if needs.s3:  # build the S3 client first: built inside the checks it blocks the event loop for
            _ = resources.s3  # seconds under load, and the other checks' time limits run out meanwhile
        return await resources.readiness(CHECK_TIMEOUT_S)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("component", choices=sorted(COMPONENT_NEEDS))
    args = parser.parse_args(argv)
    try:
        checks = asyncio.run(check(args.component))
    except Exception as exc:  # noqa: BLE001 - a dependency that cannot even be opened is "not ready"
        print(json.dumps({"status": "not_ready", "error": type(exc).__name__}))
        sys.exit(1)
    # the graph build's progress is not a dependency: the updater is what finishes it
    ok = all(bool(c.get("ok")) for name, c in checks.items() if name != "graph_build")
    print(json.dumps({"status": "ready" if ok else "not_ready", "checks": checks}))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
