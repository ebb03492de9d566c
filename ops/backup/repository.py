"""The pgBackRest repository: take and list backups, restore one (falling back to older ones), its S3 objects."""

from __future__ import annotations

import json
import os
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ops.backup.postgres import (
    BackupError,
    pgbackrest_ok,
    say,
)
from ops.stack import pgbackrest as bs
from ops.stack.config import (
    chown_postgres,
)
from ops.stack.s3 import s3_client


def take_backup(cluster: bs.Cluster, kind: str) -> dict[str, Any]:
    t0 = time.monotonic()
    pgbackrest_ok(cluster.pgbackrest("backup", f"--type={kind}"), "backup")
    seconds = time.monotonic() - t0
    newest = list_backups(cluster)["backups"][-1]
    return newest | {"duration_s": round(seconds, 2)}


def list_backups(cluster: bs.Cluster) -> dict[str, Any]:
    out = pgbackrest_ok(cluster.pgbackrest("info", "--output=json", timeout=300), "info")
    stanzas = json.loads(out)
    entry = stanzas[0] if stanzas else {}
    backups = [
        {
            "label": b["label"],
            "type": b["type"],
            "prior": b.get("prior"),
            "start": datetime.fromtimestamp(b["timestamp"]["start"], UTC).isoformat(),
            "stop": datetime.fromtimestamp(b["timestamp"]["stop"], UTC).isoformat(),
            "size_bytes": b["info"]["size"],
            "repo_size_bytes": b["info"]["repository"]["delta"],
            "wal_start": b["archive"]["start"],
            "wal_stop": b["archive"]["stop"],
            "error": bool(b.get("error")),
        }
        for b in entry.get("backup", [])
    ]
    archive = entry.get("archive", [{}])
    return {
        "stanza": entry.get("name", cluster.stanza),
        "status": entry.get("status", {}).get("message"),
        "backups": backups,
        "wal_min": archive[-1].get("min") if archive else None,
        "wal_max": archive[-1].get("max") if archive else None,
    }


# ----------------------------------------------------------------------------- restore


def restore_files(
    cluster: bs.Cluster, target: Path, *, to: str | None, backup_set: str | None, config: Path | None = None
) -> None:
    """pgBackRest restore into ``target`` (must be new or empty; never the running cluster's)."""
    if target.resolve() == cluster.data_dir.resolve():
        raise BackupError("refusing to restore over the cluster's own data directory; choose a fresh one")
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"{target} is not empty; a restore goes into a fresh directory")
    target.mkdir(mode=0o700, parents=True, exist_ok=True)
    chown_postgres(target)
    args = ["restore", f"--pg1-path={target}", "--process-max=4"]  # S3 round trips, not CPU, bound it
    if to:  # without a target, recovery replays every archived segment and promotes at the end
        args += ["--type=time", f"--target={to}", "--target-action=promote"]
    if backup_set:
        args += [f"--set={backup_set}"]
    pgbackrest_ok(cluster.pgbackrest(*args, config=config), "restore")


def restore_with_fallback(
    cluster: bs.Cluster, target: Path, *, to: str | None, backup_set: str | None = None
) -> tuple[str | None, list[dict[str, str]]]:
    """Restore the newest usable backup: when one fails (damaged object, missing file), wipe the
    target and try the next older one. Returns (the set used, the failures on the way)."""
    if backup_set:
        restore_files(cluster, target, to=to, backup_set=backup_set)
        return backup_set, []
    usable = [b for b in reversed(list_backups(cluster)["backups"]) if not b["error"]]
    if to:  # recovery can only stop after a backup's end: use backups that finished before the target
        target_at = parse_target(to)
        usable = [b for b in usable if datetime.fromisoformat(b["stop"]) < target_at]
        if not usable:
            raise BackupError(
                f"no backup finished before {to}: the earliest point to restore to is after the oldest backup"
            )
    labels = [b["label"] for b in usable]
    if not labels:
        raise BackupError(f"no backups in stanza {cluster.stanza}; take one with `./dev backup`")
    failures: list[dict[str, str]] = []
    for label in labels:
        try:
            restore_files(cluster, target, to=to, backup_set=label)
            return label, failures
        except BackupError as exc:
            lines = [ln.strip() for ln in str(exc).splitlines() if "ERROR" in ln] or [str(exc)]
            failures.append({"set": label, "error": lines[0][:300]})
            say(f"  backup {label} failed to restore; trying the previous one ({failures[-1]['error'][:120]})")
            shutil.rmtree(target, ignore_errors=True)
    raise BackupError("every backup failed to restore: " + json.dumps(failures))


def parse_target(to: str) -> datetime:
    """A recovery target time as pgBackRest takes it ('2026-12-03 14:05:00+00'); no zone = UTC."""
    try:
        at = datetime.fromisoformat(to.strip().replace(" ", "T", 1))
    except ValueError as exc:
        raise BackupError(f"--to {to!r} is not a time like '2026-12-03 14:05:00+00'") from exc
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def repo_objects(prefix: str) -> list[dict[str, Any]]:
    s3 = s3_client()
    out: list[dict[str, Any]] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bs.BUCKET, Prefix=prefix.lstrip("/")):
        out.extend(page.get("Contents", []))
    return out


def corrupt_backup(cluster: bs.Cluster, label: str) -> str:
    """Overwrite the largest file of backup ``label`` in S3 with garbage of the same size."""
    prefix = f"{cluster.repo_path.lstrip('/')}/backup/{cluster.stanza}/{label}/pg_data/"
    objects = repo_objects(prefix)
    if not objects:
        raise BackupError(f"backup {label} has no data objects under {prefix}")
    victim = max(objects, key=lambda o: o["Size"])
    s3_client().put_object(Bucket=bs.BUCKET, Key=victim["Key"], Body=os.urandom(max(64, int(victim["Size"]))))
    return str(victim["Key"])


def delete_repo(prefix: str) -> None:
    s3 = s3_client()
    keys = [{"Key": o["Key"]} for o in repo_objects(prefix)]
    for i in range(0, len(keys), 1000):
        s3.delete_objects(Bucket=bs.BUCKET, Delete={"Objects": keys[i : i + 1000]})
