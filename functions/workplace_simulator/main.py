"""Run the workplace simulator as its own process: ``python -m functions.workplace_simulator.main``.

It is the *external* system, so it is not mounted in the dev server. Listens on
``CO_SIMULATOR_HOST:CO_SIMULATOR_PORT`` (loopback by default).
"""

from __future__ import annotations

from functions.workplace_simulator.app import build_app
from shared.platform.settings import load_settings

app = build_app()


def main() -> None:
    import uvicorn

    settings = load_settings()
    uvicorn.run(
        app, host=settings.interventions.simulator_host, port=settings.interventions.simulator_port, log_level="warning"
    )


if __name__ == "__main__":
    main()
