"""Graph updater: the stream consumer KEDA scales on the group's lag (down to zero).

SIGTERM/SIGINT: the batch in hand is finished and acknowledged, then the process exits.
Run: ``python -m functions.graph_updater.main [--consumer NAME]``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import socket

from shared.platform.resources import Needs, open_resources
from shared.platform.settings import Settings, load_settings
from shared.services.graph_updater import GraphUpdater


async def consume(settings: Settings, consumer: str, stop: asyncio.Event) -> None:
    async with open_resources(settings, Needs(graph=True, redis=True, pg=True)) as resources:
        await resources.graph.ensure_schema()
        updater = GraphUpdater(settings, resources.redis, resources.pg, resources.graph, consumer)
        await updater.run(stop)
        logging.getLogger(__name__).info("stopped cleanly: %s", updater.stats)


async def main_async(consumer: str) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await consume(load_settings(), consumer, stop)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--consumer", default=os.environ.get("CO_CONSUMER_NAME") or f"{socket.gethostname()}-{os.getpid()}"
    )
    args = parser.parse_args()
    logging.basicConfig(level=os.environ.get("CO_LOG_LEVEL", "INFO"))
    asyncio.run(main_async(args.consumer))


if __name__ == "__main__":
    main()
