"""One supervised server process: how to start it, prove it answers, recognise it later, stop it."""

from __future__ import annotations

import contextlib
import datetime as dt
import http.client
import json
import os
import socket
import subprocess
import time
from pathlib import Path

import psutil

from ops.stack.config import HOST, LOGS, RUN, VAR, StackError, port, required_binary, say


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


def http_get(port_: int, path: str, timeout: float = 2.0) -> bytes:
    """The body of GET http://127.0.0.1:port/path; anything but 200 raises."""
    conn = http.client.HTTPConnection(HOST, port_, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read()
        if resp.status != 200:
            raise RuntimeError(f"{path} answered HTTP {resp.status}")
        return body
    finally:
        conn.close()


def http_get_json(port_: int, path: str, timeout: float = 2.0) -> dict[str, object]:
    body: dict[str, object] = json.loads(http_get(port_, path, timeout))
    return body


class Server:
    """Subclasses say how to start one server and how to prove it answers a real request."""

    name = ""
    port_key = ""
    ready_timeout = 60.0
    stop_timeout = 20.0
    poll_interval = 0.1
    needs: tuple[str, ...] = ()  # servers that must answer before this one can (bench starts them first)
    binary: tuple[str, str] = ("", "")  # (executable, package that ships it) when exe() is a looked-up binary

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
        if not self.binary[0]:
            raise NotImplementedError
        return required_binary(*self.binary)

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
                    f"stop it or choose other ports (see PORTS / CO_*_PORT in ops/stack/config.py)"
                )

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as log:
            log.write(f"\n=== ops.stack up {dt.datetime.now().isoformat(timespec='seconds')} ===\n".encode())
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
