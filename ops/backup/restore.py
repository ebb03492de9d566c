"""`restore`: a backup into a NEW data directory, started on CO_PG_RESTORE_PORT, verified, with a rebuilt graph."""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from ops.backup.ledger import fingerprint, graph_weights
from ops.backup.postgres import (
    BackupError,
    app_dsn,
    say,
    stack_cluster,
    start_postgres,
    stop_postgres,
    wait_promoted,
)
from ops.backup.repository import (
    restore_with_fallback,
)
from ops.stack import pgbackrest as bs
from ops.stack.config import (
    PG_DATABASES,
)
from ops.stack.server import port_free
from shared.platform.resources import Needs, open_resources
from shared.platform.settings import Settings, load_settings
from shared.services.graph_build import rebuild_graph


async def rebuild_into(settings: Settings) -> float:
    t0 = time.monotonic()
    async with open_resources(settings, Needs(graph=True, redis=True, pg=True)) as r:
        await r.graph.ensure_schema()
        await rebuild_graph(settings, r.redis, r.pg, r.graph)
    return time.monotonic() - t0


async def cmd_restore(args: argparse.Namespace) -> dict[str, Any]:
    cluster = stack_cluster()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = Path(args.target_dir) if args.target_dir else cluster.base / f"restore-{stamp}"
    port = bs.restore_pg_port()
    if not port_free(port):
        raise BackupError(f"port {port} (CO_PG_RESTORE_PORT) is busy: stop the previous restore first")
    t0 = time.monotonic()
    used, failures = restore_with_fallback(cluster, target, to=args.to, backup_set=args.set)
    restored_s = time.monotonic() - t0
    start_postgres(target, port, archive=False)
    try:
        await wait_promoted(port, target)
        recovered_s = time.monotonic() - t0
        base = load_settings()
        dsn = app_dsn(port, PG_DATABASES[0])
        fp = await fingerprint(dsn, base.audit.key or b"")
        settings = base.replace(
            **{
                "pg_dsn": SecretStr(dsn),
                "graph_name": f"{base.graph.name}_restore_{stamp}",
                "graph_build_key": f"{base.graph.build_key}:restore:{stamp}",
            }
        )
        rebuild_s = await rebuild_into(settings)
        weights = await graph_weights(settings)
        result = {
            "target_dir": str(target),
            "port": port,
            "backup_set": used,
            "fallbacks": failures,
            "recovery_target": args.to or "latest",
            "newest_event_at": datetime.fromtimestamp(fp.last_applied_at, UTC).isoformat()
            if fp.last_applied_at
            else None,
            "counts": fp.counts,
            "audit_chain_ok": fp.audit_ok,
            "graph_name": settings.graph.name,
            "graph_edges_equal": weights == fp.pair_weights,
            "restore_s": round(restored_s, 2),
            "recovery_s": round(recovered_s, 2),
            "graph_rebuild_s": round(rebuild_s, 2),
        }
    finally:
        if not args.keep_running:
            stop_postgres(target)
    say(f"restored {used} to {args.to or 'the latest archived WAL'} into {target}")
    say(f"  ledger rows {fp.counts}; audit chain {'verifies' if fp.audit_ok else 'BROKEN'}")
    say(
        f"  graph {settings.graph.name} rebuilt in {rebuild_s:.1f} s; "
        f"edge weights equal the ledger: {result['graph_edges_equal']}"
    )
    say("  the running cluster was not touched; to switch over see docs/runbooks/backup-restore.md")
    return result
