"""PostgreSQL processes of restores and drills (started with pg_ctl as the PostgreSQL user) and their DSNs."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
from pathlib import Path
from urllib.parse import quote

import asyncpg

from ops.stack import pgbackrest as bs
from ops.stack.config import (
    HOST,
    PG_ROLE,
    as_postgres,
    pg_bin_dir,
    secret,
)
from ops.stack.server import tail
from ops.stack.supervisor import stack_postgres


class BackupError(Exception):
    """A failure worth one clear line (exit 1, no traceback)."""


def say(msg: str) -> None:
    print(msg, flush=True)


def superuser_password() -> str:
    return secret("pg_superuser_password")


def stack_cluster() -> bs.Cluster:
    return stack_postgres().backup_cluster()


def pgbackrest_ok(out: subprocess.CompletedProcess[str], what: str) -> str:
    """The command's output, or a BackupError that says what most likely went wrong first."""
    if out.returncode != 0:
        text = (out.stderr.strip() or out.stdout.strip())[-800:]
        unreadable = ("FormatError", "CryptoError", "cipher", "decrypt", "unable to read", "unable to load")
        hint = ""
        if any(marker in text for marker in unreadable):
            hint = (
                "the repository could not be decrypted or read: wrong passphrase "
                "(var/secrets/backup_cipher_pass) or damaged backup files\n  "
            )
        raise BackupError(f"pgbackrest {what} failed (exit {out.returncode}): {hint}{text}")
    return out.stdout


def pg_ctl(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    cmd = as_postgres([str(pg_bin_dir() / "pg_ctl"), *args])
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd="/")


def start_postgres(data_dir: Path, port: int, *, archive: bool, timeout: float = 3600) -> None:
    """Start a cluster on ``port`` (socket in its own directory). ``archive=False`` switches WAL
    archiving off, so a restored copy never pushes into the repository it came from."""
    opts = f"-c port={port} -c listen_addresses={HOST} -c unix_socket_directories={data_dir}"
    if not archive:
        opts += " -c archive_mode=off"
    out = pg_ctl("-D", str(data_dir), "-l", str(data_dir.parent / f"{data_dir.name}.log"), "-o", opts,
                 "-w", "-t", str(int(timeout)), "start", timeout=timeout + 30)  # fmt: skip
    if out.returncode != 0:
        log = data_dir.parent / f"{data_dir.name}.log"
        raise BackupError(f"postgres on {data_dir} did not start: {out.stderr.strip()}\n{tail(log)}")


def stop_postgres(data_dir: Path, mode: str = "fast") -> None:
    if (data_dir / "postmaster.pid").exists():
        pg_ctl("-D", str(data_dir), "-m", mode, "-w", "-t", "120", "stop", timeout=180)


def superuser_dsn(port: int, database: str = "postgres") -> str:

    return f"postgresql://postgres:{quote(superuser_password(), safe='')}@{HOST}:{port}/{database}"


def app_dsn(port: int, database: str) -> str:

    return f"postgresql://{PG_ROLE}:{quote(secret('pg_password'), safe='')}@{HOST}:{port}/{database}"


async def wait_promoted(port: int, data_dir: Path, timeout_s: float = 3600) -> None:
    """Recovery replays the archived WAL; the restore is usable once the server left recovery.
    A server that stops instead (e.g. the target lies beyond the archived WAL) is reported."""
    deadline = time.monotonic() + timeout_s
    log = data_dir.parent / f"{data_dir.name}.log"
    while time.monotonic() < deadline:
        if not (data_dir / "postmaster.pid").exists():
            hint = ""
            if "recovery target was reached" in tail(log, 40):
                hint = (
                    " (the target lies after the newest archived transaction: choose an earlier time,"
                    " or restore without --to for the latest point)"
                )
            raise BackupError(f"the restored server stopped during recovery{hint}; see {log}\n{tail(log, 4)}")
        with contextlib.suppress(OSError, asyncpg.PostgresError):
            conn = await asyncpg.connect(superuser_dsn(port), timeout=5)
            try:
                if not await conn.fetchval("SELECT pg_is_in_recovery()"):
                    return
            finally:
                await conn.close()
        await asyncio.sleep(0.5)
    raise BackupError(f"the restored cluster on port {port} did not finish recovery in {timeout_s:.0f} s")
