"""`causal-organism` command line: schema set-up, local keys and tokens, and the analysts' tools.

Subcommands register themselves in :func:`build_parser` (the causal and data-protection ones from
their own modules here); each imports its heavy dependencies only when it runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Sequence

from shared.cli.causal import add_causal_commands
from shared.cli.privacy import add_privacy_commands
from shared.platform.resources import Needs, open_resources
from shared.platform.settings import Settings, load_settings
from shared.platform.tokens import generate_local_keypair, mint_token
from shared.services.audit import run_anchor, run_verify
from shared.services.graph_build import rebuild_graph
from shared.services.schema import migrate_all

Command = Callable[[argparse.Namespace, Settings], int]


def cmd_migrate(_: argparse.Namespace, settings: Settings) -> int:
    print(json.dumps(asyncio.run(migrate_all(settings))))
    return 0


def cmd_dev_keys(args: argparse.Namespace, _: Settings) -> int:
    from pathlib import Path

    print(generate_local_keypair(Path(args.directory)))
    return 0


def cmd_token(args: argparse.Namespace, settings: Settings) -> int:
    print(mint_token(settings, subject=args.subject, roles=args.role, ttl_s=args.ttl))
    return 0


def cmd_audit_verify(args: argparse.Namespace, settings: Settings) -> int:
    """Recompute the intervention audit log's hash chain; exit 1 on the first broken link."""
    report = asyncio.run(run_verify(settings, args.expect_head, anchors=not args.no_anchors))
    print(json.dumps(report.to_json()))
    return 0 if report.ok else 1


def cmd_audit_anchor(_: argparse.Namespace, settings: Settings) -> int:
    """Verify the audit chain and copy its head to the S3 anchor bucket; exit 1 if it does not verify."""
    result = asyncio.run(run_anchor(settings))
    print(json.dumps(result.to_json()))
    return 0 if result.verify.ok else 1


async def _graph_rebuild(settings: Settings) -> dict[str, object]:
    async with open_resources(settings, Needs(graph=True, redis=True, pg=True)) as r:
        status = await rebuild_graph(
            settings, r.redis, r.pg, r.graph, heartbeat=lambda p: print(json.dumps(p), file=sys.stderr)
        )
    return {"state": status.state, "done": status.done, "total": status.total}


def cmd_graph_rebuild(_: argparse.Namespace, settings: Settings) -> int:
    print(json.dumps(asyncio.run(_graph_rebuild(settings))))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="causal-organism", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("migrate", help="apply PostgreSQL migrations and graph indexes (idempotent)")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("graph-rebuild", help="rebuild the graph projection from the ledger, printing progress")
    p.set_defaults(func=cmd_graph_rebuild)

    p = sub.add_parser("dev-keys", help="generate the local JWT signing key pair (idempotent)")
    p.add_argument("--directory", default="var/secrets")
    p.set_defaults(func=cmd_dev_keys)

    p = sub.add_parser("token", help="mint a local JWT for a role (development only)")
    p.add_argument("--role", action="append", required=True, help="viewer|analyst|approver|admin|service")
    p.add_argument("--subject", default="dev-user")
    p.add_argument("--ttl", type=int, default=3600)
    p.set_defaults(func=cmd_token)

    p = sub.add_parser("audit-verify", help="verify the audit hash chain (exit 1 if tampered)")
    p.add_argument("--expect-head", default=None, help="a head recorded earlier: must still be in the chain")
    p.add_argument("--no-anchors", action="store_true", help="skip the S3 anchors (chain and keys only)")
    p.set_defaults(func=cmd_audit_verify)

    p = sub.add_parser("audit-anchor", help="verify the audit chain and anchor its head in S3 (run periodically)")
    p.set_defaults(func=cmd_audit_anchor)

    add_causal_commands(sub)
    add_privacy_commands(sub)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func: Command = args.func
    return func(args, load_settings())
