"""Operate the metrics by hand: `refresh [--force]`, `retention`, `demo`, `backfill [week|month] [--rewrite]`
(see taskfiles/metrics.yml)."""

from __future__ import annotations

import argparse
import asyncio
import json
from dataclasses import asdict
from datetime import UTC, datetime

from ops.metrics_demo import demo_stage
from shared.platform.resources import Needs, open_resources
from shared.platform.settings import load_settings
from shared.services.live_graph import tie_rules_from
from shared.services.metrics_refresh import apply_retention, definitions_from, refresh_metrics
from shared.services.period_metrics import backfill_in_process


async def run(args: argparse.Namespace) -> None:
    async with open_resources(load_settings(), Needs(graph=True, redis=True, pg=True)) as res:
        if args.command == "refresh":
            print(json.dumps(asdict(await refresh_metrics(res, trigger="cli", force=args.force))))
        elif args.command == "backfill":
            s = res.settings
            periods = await backfill_in_process(
                res.pg,
                args.kind,
                datetime.now(UTC),
                definitions_from(s),
                tie_rules_from(s),
                s.privacy.min_group_size,
                rewrite=args.rewrite,
                on_progress=lambda done, total, p: print(f"{done}/{total} {p.kind} {p.label}", flush=True),
            )
            print(json.dumps({"periods": len(periods)}))
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
    backfill = sub.add_parser("backfill")
    backfill.add_argument("kind", nargs="?", default="week", choices=["week", "month"])
    backfill.add_argument("--rewrite", action="store_true", help="recompute periods already written")
    sub.add_parser("demo")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
