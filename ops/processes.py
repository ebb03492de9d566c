"""Starting the project's own processes for demos and benchmarks: free loopback ports, the
environment that hands a process the same settings, uvicorn on loopback, waiting for HTTP.

One home for what demos, benchmarks and the backup drill each wrote for themselves; the test
support can import it too (tests import ops, never the other way round).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import httpx
from pydantic import SecretStr

from ops.stack.config import HOST, ROOT
from shared.platform.settings import Settings


def free_port() -> int:
    """A loopback port nobody listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def settings_env(settings: Settings, **overrides: Any) -> dict[str, str]:
    """``CO_*`` variables that rebuild ``settings`` in another process; overrides by field or variable name."""
    values = settings.flat()
    values.update(overrides)
    env: dict[str, str] = {}
    for name, value in values.items():
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if isinstance(value, (tuple, list, dict)):
            value = json.dumps(list(value) if isinstance(value, tuple) else value)
        env[name if name.startswith("CO_") else f"CO_{name.upper()}"] = str(value)
    return env


def uvicorn_args(app: str, port: int) -> list[str]:
    """``python`` arguments that serve ``app`` (``functions.x.main:app``) on loopback ``port``."""
    return ["-m", "uvicorn", app, "--host", HOST, "--port", str(port), "--log-level", "warning", "--no-access-log"]


def answers(url: str, timeout_s: float = 1.0) -> bool:
    """True when ``url`` answers without a server error."""
    try:
        return httpx.get(url, timeout=timeout_s).status_code < 500
    except httpx.HTTPError:
        return False


async def wait_http(url: str, timeout_s: float = 120, status: int | None = None) -> None:
    """Until ``url`` answers (with ``status``, or any non-5xx status); RuntimeError after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(timeout=5) as client:
        while time.monotonic() < deadline:
            try:
                code = (await client.get(url)).status_code
                if code == status or (status is None and code < 500):
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} did not answer{f' {status}' if status else ''} within {timeout_s:.0f} s")


def responds(url: str, timeout_s: float = 1.0) -> bool:
    """True when ``url`` answers HTTP at all (any status: the process is up)."""
    try:
        httpx.get(url, timeout=timeout_s)
    except httpx.HTTPError:
        return False
    return True


def stop(proc: subprocess.Popen[bytes], timeout_s: float = 15.0) -> None:
    """SIGTERM, then SIGKILL when it has not exited within ``timeout_s``."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def started(
    command: Sequence[str],
    env: Mapping[str, str],
    ready_url: str,
    *,
    timeout_s: float = 60.0,
    ready: Callable[[str], bool] = responds,
    **popen: Any,
) -> Iterator[subprocess.Popen[bytes]]:
    """``command`` (our environment plus ``env``, run from the repository root) for the block, from
    the moment ``ready(ready_url)`` holds; stopped whatever happens, a start-up that hangs included."""
    proc = subprocess.Popen(list(command), cwd=ROOT, env={**os.environ, **env}, **popen)
    try:
        deadline = time.monotonic() + timeout_s
        while not ready(ready_url):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{' '.join(command[:4])} did not start (exit {proc.poll()})")
            time.sleep(0.1)
        yield proc
    finally:
        stop(proc)


@contextmanager
def serve(
    app: str,
    env: Mapping[str, str],
    ready_path: str = "/health/live",
    timeout_s: float = 120.0,  # a loaded 2-core box can take a while
    *,
    workers: int = 1,
) -> Iterator[str]:
    """``uvicorn app`` on a free loopback port (our environment plus ``env``) for the block; yields the base URL."""
    port = free_port()
    # clients idle between benchmark phases must not find their connection closed
    cmd = [sys.executable, *uvicorn_args(app, port), "--timeout-keep-alive", "75"]
    if workers > 1:
        cmd += ["--workers", str(workers)]
    base = f"http://{HOST}:{port}"
    with started(cmd, env, base + ready_path, timeout_s=timeout_s, ready=answers):
        yield base
