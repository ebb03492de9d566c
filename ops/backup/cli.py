"""Backups of the PostgreSQL ledger with pgBackRest, restores into fresh data directories, and the drill.

    python -m ops.backup backup [--type full|diff|incr]     take a backup of the stack's cluster now
    python -m ops.backup list                                the repository's backups and WAL range
    python -m ops.backup restore [--to TIME] [--set LABEL]   restore into a NEW data directory, start it on
                                                             CO_PG_RESTORE_PORT, verify it, rebuild a graph
    python -m ops.backup drill [--events N] [--corrupt-newest]  the recovery drill (own scratch cluster)

Each prints human lines, then one JSON object on the last line of stdout. A restore never
touches the running cluster's data directory; switching over is a documented, manual step
(docs/runbooks/backup-restore.md). The drill builds a cluster of its own (port CO_PG_DRILL_PORT,
stanza `drill`, its own repository path), so it can destroy that cluster's data directory for real.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from ops.backup.drill import run_drill
from ops.backup.postgres import (
    BackupError,
    say,
    stack_cluster,
)
from ops.backup.repository import (
    list_backups,
    take_backup,
)
from ops.backup.restore import cmd_restore


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.backup", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("backup", help="take a backup of the stack's PostgreSQL now")
    p.add_argument("--type", choices=["full", "diff", "incr"], default="full")
    sub.add_parser("list", help="backups in the repository and the archived WAL range")
    p = sub.add_parser("restore", help="restore into a fresh data directory, verify, rebuild a graph")
    p.add_argument("--to", help="recovery target time, e.g. '2026-12-03 14:05:00+00' (default: latest)")
    p.add_argument("--set", help="backup label to restore from (default: newest that restores)")
    p.add_argument("--target-dir", help="fresh directory (default: next to the data directory)")
    p.add_argument("--keep-running", action="store_true", help="leave the restored server running")
    p = sub.add_parser("drill", help="the recovery drill on a scratch cluster")
    p.add_argument("--events", type=int, default=20_000)
    p.add_argument("--dataset", choices=["enron", "eu"], default="eu")
    p.add_argument("--consumers", type=int, default=2)
    p.add_argument("--corrupt-newest", action="store_true", help="damage the newest backup first")
    p.add_argument("--keep", action="store_true", help="keep the scratch cluster and repository")
    p.add_argument("--tag", default=None)
    args = parser.parse_args(argv)
    try:
        if args.cmd == "backup":
            result = take_backup(stack_cluster(), args.type)
            say(f"{result['type']} backup {result['label']} in {result['duration_s']} s "
                f"({result['repo_size_bytes']:,} bytes written to S3, encrypted)")  # fmt: skip
        elif args.cmd == "list":
            result = list_backups(stack_cluster())
            for b in result["backups"]:
                say(f"  {b['label']:<36} {b['type']:<5} {b['stop']}  {b['repo_size_bytes']:>12,} B")
            say(f"{len(result['backups'])} backups; WAL archived {result['wal_min']} .. {result['wal_max']}")
        elif args.cmd == "restore":
            result = asyncio.run(cmd_restore(args))
        else:
            result = asyncio.run(run_drill(args))
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        print(json.dumps({"ok": False, "error": str(exc).splitlines()[0]}))
        return 1
    print(json.dumps(result))
    return 0 if result.get("passed", True) else 1
