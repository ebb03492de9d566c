"""Operate the metrics by hand: `refresh [--force]`, `retention`, `demo` (see taskfiles/metrics.yml)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared.platform.resources import Needs, open_resources  # noqa: E402
from shared.platform.settings import load_settings  # noqa: E402
from shared.services.metrics_refresh import apply_retention, demo_stage, refresh_metrics  # noqa: E402


async def run(args: argparse.Namespace) -> None:
    async with open_resources(load_settings(), Needs(graph=True, redis=True, pg=True)) as res:
        if args.command == "refresh":
            print(json.dumps((await refresh_metrics(res, trigger="cli", force=args.force)).as_dict()))
        elif args.command == "retention":
            print(json.dumps({"partitions_dropped": await apply_retention(res)}))
        else:
            await demo_stage(res, print)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    refresh = sub.add_parser("refresh")
    refresh.add_argument("--force", action="store_true", help="refresh even if the graph is unchanged")
    sub.add_parser("retention")
    sub.add_parser("demo")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
