"""Start a function's ASGI app in a real uvicorn process on loopback (schemathesis, benchmarks)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from shared.platform.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def settings_env(settings: Settings, **overrides: Any) -> dict[str, str]:
    """``CO_*`` variables that rebuild ``settings`` (with overrides) in another process."""
    values = settings.model_dump()
    values.update(overrides)
    env: dict[str, str] = {}
    for name, value in values.items():
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if isinstance(value, (tuple, list, dict)):
            value = json.dumps(list(value) if isinstance(value, tuple) else value)
        env[f"CO_{name.upper()}"] = str(value)
    return env


@contextmanager
def uvicorn_process(app_path: str, env: Mapping[str, str], *, workers: int = 1) -> Iterator[str]:
    """``app_path`` like ``functions.query_api.main:app``; yields the base URL; always stops it."""
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        app_path,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
        "--timeout-keep-alive",
        "75",  # clients idle between benchmark phases must not find their connection closed
    ]
    if workers > 1:
        cmd += ["--workers", str(workers)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env})
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # a loaded 2-core box can take a while
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"uvicorn {app_path} exited with {proc.returncode}")
            try:
                if httpx.get(f"{base}/health/live", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn {app_path} did not start")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
