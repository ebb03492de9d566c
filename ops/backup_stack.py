"""pgBackRest wiring for the local stack: PostgreSQL archives its WAL to the SeaweedFS S3 over TLS.

Why each piece exists (measured pitfalls, see /work/shared/design/ARCHITECTURE.md):
- pgBackRest 2.45 speaks S3 only over TLS (pointed at a plain HTTP port it hangs): SeaweedFS gets
  a second, HTTPS S3 listener with a self-signed certificate generated here, and pgBackRest is
  told not to verify it (loopback only).
- archive_command runs as the PostgreSQL user, which cannot read var/secrets: the pgBackRest
  configuration (S3 keys, the encryption passphrase) is written, mode 600, next to the data
  directory, owned by that user. The passphrase's source of truth is var/secrets/backup_cipher_pass.
- Lock, log and spool paths are per checkout (the defaults under /tmp and /var/log would be
  shared by every checkout on the machine).

One cluster = one `Cluster` (the stack's own, or the drill's scratch cluster); the functions
here write its configuration and run pgBackRest and the PostgreSQL binaries as the right user.
Used by ops/stack.py (hooks), ops/backup.py (commands) and the backup exporter.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import secrets
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

IS_ROOT = os.geteuid() == 0
HOST = "127.0.0.1"
STANZA = "causal_organism"
BUCKET = "causal-organism-backups"  # inside the app identity's causal-organism-* scope (ops/stack.py)
CIPHER_SECRET = "backup_cipher_pass"
CERT_NAME, KEY_NAME = "s3_tls.crt", "s3_tls.key"
ARCHIVE_TIMEOUT_S = int(os.environ.get("CO_PG_ARCHIVE_TIMEOUT_S", "15"))
RETENTION_FULL = int(os.environ.get("CO_BACKUP_RETENTION_FULL", "2"))
RETENTION_DIFF = int(os.environ.get("CO_BACKUP_RETENTION_DIFF", "7"))


def derived_port(env: str, offset: int, default: int) -> int:
    """A port from its own variable, else at a fixed offset from the checkout's S3 port.

    Each checkout on a shared machine sets CO_S3_PORT; deriving the new ports from it keeps
    two checkouts apart without asking every one of them for a new variable.
    """
    if env in os.environ:
        return int(os.environ[env])
    if "CO_S3_PORT" in os.environ:
        return int(os.environ["CO_S3_PORT"]) + offset
    return default


def s3_https_port() -> int:
    return derived_port("CO_S3_HTTPS_PORT", 80, 8334)


def exporter_port() -> int:
    return derived_port("CO_BACKUP_EXPORTER_PORT", 81, 9188)


def drill_pg_port() -> int:
    return derived_port("CO_PG_DRILL_PORT", 82, 5434)


def restore_pg_port() -> int:
    return derived_port("CO_PG_RESTORE_PORT", 83, 5435)


def pg_bin_dir() -> Path:
    return Path(os.environ.get("CO_PG_BIN_DIR", "/usr/lib/postgresql/15/bin"))


def pgbackrest_binary() -> str:
    found = shutil.which("pgbackrest")
    if not found:
        raise RuntimeError("pgbackrest not found: run `./dev setup` (installs the Debian package pgbackrest)")
    return found


# ----------------------------------------------------------------------------- files, users


def chown_postgres(*paths: Path) -> None:
    if not IS_ROOT:
        return
    pw = pwd.getpwnam("postgres")
    for p in paths:
        os.chown(p, pw.pw_uid, pw.pw_gid)


def write_owned(path: Path, text: str) -> None:
    """Write a mode-600 file owned by the PostgreSQL user (it runs archive_command)."""
    tmp = path.with_name(f".{path.name}.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    chown_postgres(tmp)
    os.replace(tmp, path)


def as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if IS_ROOT else cmd


def ensure_backup_secrets(secrets_dir: Path) -> None:
    """The repository passphrase (generated once; losing it makes every backup unreadable)."""
    path = secrets_dir / CIPHER_SECRET
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48) + "\n")


def ensure_tls_certificate(secrets_dir: Path) -> tuple[Path, Path]:
    """A self-signed certificate for SeaweedFS's HTTPS S3 listener (loopback only), made once."""
    cert, key = secrets_dir / CERT_NAME, secrets_dir / KEY_NAME
    if cert.exists() and key.exists():
        return cert, key
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    key.chmod(0o600)
    return cert, key


def seaweed_https_args(secrets_dir: Path) -> list[str]:
    cert, key = ensure_tls_certificate(secrets_dir)
    return [f"-s3.port.https={s3_https_port()}", f"-s3.cert.file={cert}", f"-s3.key.file={key}"]


# ----------------------------------------------------------------------------- one cluster


@dataclass(frozen=True)
class Cluster:
    """A PostgreSQL cluster and the pgBackRest stanza/repository path that backs it up."""

    base: Path  # postgres-owned directory holding pgbackrest/ (config, lock, log, spool)
    data_dir: Path
    port: int
    stanza: str = STANZA
    repo_path: str = "/pgbackrest"
    superuser_password: str = field(default="", repr=False)

    @property
    def state_dir(self) -> Path:
        return self.base / "pgbackrest"

    @property
    def config(self) -> Path:
        return self.state_dir / f"{self.stanza}.conf"

    @property
    def pgpass(self) -> Path:
        return self.state_dir / f"{self.stanza}.pgpass"

    def archive_command(self) -> str:
        return f"{pgbackrest_binary()} --config={self.config} --stanza={self.stanza} archive-push %p"

    def server_settings(self) -> list[str]:
        """postgresql.conf lines that turn on continuous WAL archiving into this stanza."""
        return [
            "wal_level = replica",
            "archive_mode = on",
            f"archive_command = '{self.archive_command()}'",
            f"archive_timeout = {ARCHIVE_TIMEOUT_S}s",  # bounds the RPO of an idle-ish ledger
        ]

    def write_config(self, secrets_dir: Path, *, cipher_pass: str | None = None, path: Path | None = None) -> None:
        """(Re)write the pgBackRest configuration (at ``path``, default its own) and the libpq password file."""
        for sub in ("", "lock", "log", "spool"):
            d = self.state_dir / sub
            d.mkdir(mode=0o700, parents=True, exist_ok=True)
            chown_postgres(d)
        read = lambda name: (secrets_dir / name).read_text().strip()  # noqa: E731
        lines = [
            "[global]",
            "repo1-type=s3",
            f"repo1-path={self.repo_path}",
            f"repo1-s3-bucket={BUCKET}",
            f"repo1-s3-endpoint={HOST}",
            f"repo1-s3-port={s3_https_port()}",
            "repo1-s3-region=us-east-1",
            "repo1-s3-uri-style=path",
            f"repo1-s3-key={read('s3_access_key')}",
            f"repo1-s3-key-secret={read('s3_secret_key')}",
            "repo1-storage-verify-tls=n",  # self-signed certificate on loopback
            "repo1-cipher-type=aes-256-cbc",
            f"repo1-cipher-pass={cipher_pass if cipher_pass is not None else read(CIPHER_SECRET)}",
            f"repo1-retention-full={RETENTION_FULL}",
            f"repo1-retention-diff={RETENTION_DIFF}",
            "compress-type=lz4",  # gzip costs a whole core here; lz4 keeps backups I/O-bound
            "process-max=1",
            "start-fast=y",  # do not wait up to checkpoint_timeout for the backup's checkpoint
            f"lock-path={self.state_dir / 'lock'}",
            f"log-path={self.state_dir / 'log'}",
            f"spool-path={self.state_dir / 'spool'}",
            "log-level-console=warn",
            "log-level-file=info",
            "",
            f"[{self.stanza}]",
            f"pg1-path={self.data_dir}",
            f"pg1-port={self.port}",
            f"pg1-socket-path={self.data_dir}",
            "pg1-user=postgres",
            "",
        ]
        write_owned(path or self.config, "\n".join(lines))
        if self.superuser_password:
            write_owned(self.pgpass, f"*:*:*:postgres:{self.superuser_password}\n")

    def pgbackrest(
        self, *args: str, timeout: float = 3600, config: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run one pgBackRest command for this stanza as the PostgreSQL user."""
        cmd = [pgbackrest_binary(), f"--config={config or self.config}", f"--stanza={self.stanza}", *args]
        env = os.environ | {"PGPASSFILE": str(self.pgpass)}
        # errors="replace": with a wrong passphrase pgBackRest echoes undecryptable bytes in its error
        return subprocess.run(
            as_postgres(cmd),
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            env=env,
            cwd=self.base,
        )

    def info(self) -> dict[str, Any]:
        """pgBackRest's own view of the stanza: backups (newest last) and the WAL archive range."""
        out = self.pgbackrest("info", "--output=json", timeout=120)
        if out.returncode != 0:
            raise RuntimeError(f"pgbackrest info failed: {out.stderr.strip() or out.stdout.strip()}")
        stanzas = json.loads(out.stdout)
        return stanzas[0] if stanzas else {}


def ensure_bucket(endpoint_url: str, access_key: str, secret_key: str) -> None:
    """pgBackRest does not create its bucket."""
    import boto3
    from botocore.exceptions import ClientError

    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name="us-east-1",
    )
    try:
        s3.head_bucket(Bucket=BUCKET)
    except ClientError:
        s3.create_bucket(Bucket=BUCKET)


def stanza_create(cluster: Cluster) -> None:
    """Idempotent: succeeds when the stanza already exists and matches this cluster."""
    out = cluster.pgbackrest("stanza-create", timeout=300)
    if out.returncode != 0:
        raise RuntimeError(f"pgbackrest stanza-create failed: {out.stderr.strip() or out.stdout.strip()}")
