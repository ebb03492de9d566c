"""The data-protection subcommands of ``causal-organism``: ``retention`` (the retention job, with
``--dry-run``) and ``rekey`` (pseudonym key rotation; docs/privacy.md).

Kept here so shared/cli/__init__.py only registers them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from shared.platform.resources import Needs, open_resources
from shared.platform.settings import Settings
from shared.services.rekey import RekeyRefused, read_directory, run_rekey
from shared.services.retention import run_retention


async def _retention(settings: Settings, dry_run: bool, now: datetime | None) -> dict[str, Any]:
    async with open_resources(settings, Needs(graph=True, redis=True, pg=True, s3=True)) as resources:
        return (await run_retention(resources, now=now, dry_run=dry_run, actor="cli")).to_json()


def cmd_retention(args: argparse.Namespace, settings: Settings) -> int:
    now = datetime.fromisoformat(args.now) if args.now else None
    print(json.dumps(asyncio.run(_retention(settings, args.dry_run, now))))
    return 0


async def _rekey(settings: Settings, directory: Path, old_key: bytes, new_key: bytes) -> dict[str, Any]:
    async with open_resources(settings, Needs(graph=True, redis=True, pg=True)) as resources:
        report = await run_rekey(resources, read_directory(directory), old_key, new_key, actor="cli")
    return report.to_json()


def cmd_rekey(args: argparse.Namespace, settings: Settings) -> int:
    """Rotate every stored pseudonym to the new key (ingestion stopped, stream drained first)."""
    old_key = Path(args.old_key_file).read_bytes().strip()
    new_key = Path(args.new_key_file).read_bytes().strip()
    try:
        report = asyncio.run(_rekey(settings, Path(args.directory), old_key, new_key))
    except RekeyRefused as exc:
        print(json.dumps({"error": {"code": "refused", "message": str(exc), "details": []}}))
        return 1
    print(json.dumps(report))
    return 0


def add_privacy_commands(sub: Any) -> None:
    p = sub.add_parser("retention", help="delete data past its retention period and print the report")
    p.add_argument("--dry-run", action="store_true", help="count what would be deleted; change nothing")
    p.add_argument("--now", default=None, help="ISO timestamp to apply retention at (default: now)")
    p.set_defaults(func=cmd_retention)

    p = sub.add_parser("rekey", help="re-key every stored pseudonym from the old HMAC key to the new one")
    p.add_argument("--old-key-file", required=True, help="secret file holding the current pseudonymisation key")
    p.add_argument("--new-key-file", required=True, help="secret file holding the new key")
    p.add_argument("--directory", required=True, help="raw ids, one per line (inside the trusted boundary)")
    p.set_defaults(func=cmd_rekey)
