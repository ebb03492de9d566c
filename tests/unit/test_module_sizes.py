"""Module size limits (issue 10): ops/ is split into one module per server or command, shared/ into
one module per concept. A file past its limit is a sign two concerns share it; split it."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def oversized(folder: str, limit: int) -> dict[str, int]:
    """Python files under ``folder`` longer than ``limit`` lines (path relative to the root -> lines)."""
    sizes = {str(p.relative_to(ROOT)): len(p.read_text().splitlines()) for p in (ROOT / folder).rglob("*.py")}
    return {path: n for path, n in sorted(sizes.items()) if n > limit}


def test_no_ops_file_over_400_lines() -> None:
    assert oversized("ops", 400) == {}


def test_no_shared_module_over_350_lines() -> None:
    assert oversized("shared", 350) == {}


def test_the_scan_reads_the_files() -> None:
    """The check can fail: with a lower limit it reports files (the stack's config among them)."""
    assert "ops/stack/config.py" in oversized("ops", 50)
