"""pgBackRest, the backup tool: run its `info` and read the newest successful backup from it.

Only what the running system needs (the freshness exporter); taking and restoring backups is
operator tooling (ops/backup/, the CronJob in knative/backup-cronjob.yaml).
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class RepositoryState:
    """What pgBackRest reports about one stanza."""

    backups: int
    last_backup_stop: float | None  # unix seconds the newest backup finished
    last_backup_label: str | None
    archive_max_wal: str | None  # newest WAL segment in the repository


def parse_info(stanzas: list[dict[str, Any]], stanza: str) -> RepositoryState:
    """`pgbackrest info --output=json` -> the stanza's newest backup (error backups excluded)."""
    entry = next((s for s in stanzas if s.get("name") == stanza), None)
    if entry is None:
        return RepositoryState(0, None, None, None)
    good = [b for b in entry.get("backup", []) if not b.get("error")]
    newest = max(good, key=lambda b: b["timestamp"]["stop"], default=None)
    archive_max = max((a.get("max") or "" for a in entry.get("archive", [])), default="") or None
    return RepositoryState(
        backups=len(good),
        last_backup_stop=float(newest["timestamp"]["stop"]) if newest else None,
        last_backup_label=newest["label"] if newest else None,
        archive_max_wal=archive_max,
    )


async def read_info(
    stanza: str,
    *,
    config: Path | None = None,
    run_as: str | None = None,
    secret_env: dict[str, str] | None = None,
    timeout_s: float = 120,
) -> RepositoryState:
    """Ask pgBackRest (it decrypts the repository's manifests with the passphrase). Settings come
    from ``config`` or from PGBACKREST_* variables; ``secret_env`` adds secrets read from files."""
    cmd = ["pgbackrest", f"--stanza={stanza}", "--log-level-file=off", "info", "--output=json"]
    if config is not None:
        cmd.insert(1, f"--config={config}")
    if run_as:
        cmd = ["runuser", "-u", run_as, "--", *cmd]
    proc = await asyncio.create_subprocess_exec(
        *cmd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd="/",
        env=dict(os.environ) | (secret_env or {}),
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout_s)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    if proc.returncode != 0:
        raise RuntimeError(f"pgbackrest info failed: {err.decode(errors='replace').strip()[:300]}")
    return parse_info(json.loads(out), stanza)
