"""Debian's Chromium for the web benchmark and the browser tests: where it is and how it is started."""

from __future__ import annotations

import shutil

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    """The chromium executable ops/install_web_test_deps.sh installs (RuntimeError when missing)."""
    found = shutil.which("chromium")
    if found is None:
        raise RuntimeError("Debian's chromium is not installed: run ./dev setup (ops/install_web_test_deps.sh)")
    return found
