"""The data-protection subcommands of ``causal-organism``: ``retention`` (the retention job, with
``--dry-run``), ``erase`` (erase one person) and ``rekey`` (pseudonym key rotation).

Kept here so shared/cli.py only registers them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import datetime
from typing import Any

from shared.platform.resources import Needs, open_resources
from shared.platform.settings import Settings
from shared.services.retention import run_retention


async def _retention(settings: Settings, dry_run: bool, now: datetime | None) -> dict[str, Any]:
    async with open_resources(settings, Needs(graph=True, redis=True, pg=True, s3=True)) as resources:
        return await run_retention(resources, now=now, dry_run=dry_run, actor="cli")


def cmd_retention(args: argparse.Namespace, settings: Settings) -> int:
    now = datetime.fromisoformat(args.now) if args.now else None
    print(json.dumps(asyncio.run(_retention(settings, args.dry_run, now))))
    return 0


def add_privacy_commands(sub: Any) -> None:
    p = sub.add_parser("retention", help="delete data past its retention period and print the report")
    p.add_argument("--dry-run", action="store_true", help="count what would be deleted; change nothing")
    p.add_argument("--now", default=None, help="ISO timestamp to apply retention at (default: now)")
    p.set_defaults(func=cmd_retention)
