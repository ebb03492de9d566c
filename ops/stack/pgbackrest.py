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
Used by the stack's supervisor (hooks), ops.backup (commands) and the backup exporter.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from ops.stack.config import HOST, REGION, as_postgres, chown_postgres, derived_port, write_private
from ops.stack.s3 import s3_client

STANZA = "causal_organism"
BUCKET = "causal-organism-backups"  # inside the app identity's causal-organism-* scope (ops/stack/seaweedfs.py)
CIPHER_SECRET = "backup_cipher_pass"
CERT_NAME, KEY_NAME = "s3_tls.crt", "s3_tls.key"
ARCHIVE_TIMEOUT_S = int(os.environ.get("CO_PG_ARCHIVE_TIMEOUT_S", "15"))
RETENTION_FULL = int(os.environ.get("CO_BACKUP_RETENTION_FULL", "2"))
RETENTION_DIFF = int(os.environ.get("CO_BACKUP_RETENTION_DIFF", "7"))


def s3_https_port() -> int:
    return derived_port("CO_S3_HTTPS_PORT", 80, 8334)


def drill_pg_port() -> int:
    return derived_port("CO_PG_DRILL_PORT", 82, 5434)


def restore_pg_port() -> int:
    return derived_port("CO_PG_RESTORE_PORT", 83, 5435)


def pgbackrest_binary() -> str:
    found = shutil.which("pgbackrest")
    if not found:
        raise RuntimeError("pgbackrest not found: run `./dev setup` (installs the Debian package pgbackrest)")
    return found


# ----------------------------------------------------------------------------- TLS for S3


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
            f"repo1-s3-region={REGION}",
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
        write_private(path or self.config, "\n".join(lines), for_postgres=True)
        if self.superuser_password:
            write_private(self.pgpass, f"*:*:*:postgres:{self.superuser_password}\n", for_postgres=True)

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


def ensure_bucket() -> None:
    """pgBackRest does not create its bucket."""
    s3 = s3_client()
    try:
        s3.head_bucket(Bucket=BUCKET)
    except ClientError:
        s3.create_bucket(Bucket=BUCKET)


def stanza_create(cluster: Cluster) -> None:
    """Idempotent: succeeds when the stanza already exists and matches this cluster."""
    out = cluster.pgbackrest("stanza-create", timeout=300)
    if out.returncode != 0:
        raise RuntimeError(f"pgbackrest stanza-create failed: {out.stderr.strip() or out.stdout.strip()}")
