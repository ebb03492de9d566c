"""Runs every test file on its own, each in a fresh pytest process (docs/testing.md: "a test passes
when selected on its own"), and prints ONE JSON line: files run, passed, and each failure with the
node ids pytest reported failing.

Run it against the running stack with the suite's environment:
``./dev test:alone`` (or ``python -m ops.stack run -- python -m ops.tests_alone [paths] [--jobs N]``).
Files marking ``restart`` tests bounce the local servers, so they run last, one at a time.
Progress (one JSON line per file) goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTEST = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rfE"]
FAILED_LINE = re.compile(r"^(FAILED|ERROR) (\S+)", re.MULTILINE)


def test_files(paths: list[str], skip: list[str]) -> list[Path]:
    """Every ``test_*.py`` under ``paths`` (default: the integration tier), minus ``skip`` prefixes."""
    roots = [ROOT / p for p in paths] if paths else [ROOT / "tests"]
    found: set[Path] = set()
    for root in roots:
        found.update([root] if root.is_file() else root.rglob("test_*.py"))
    default_skip = [] if paths else ["tests/unit/"]
    excluded = [*default_skip, *skip]
    return sorted(
        f
        for f in found
        if "node_modules" not in f.parts and not any(str(f.relative_to(ROOT)).startswith(s) for s in excluded)
    )


def bounces_servers(path: Path) -> bool:
    return "mark.restart" in path.read_text(encoding="utf-8")


def run_alone(path: Path, timeout_s: float) -> dict[str, object]:
    """One file in its own pytest process; any exit but 0 is a failure (5, nothing collected, too)."""
    rel = str(path.relative_to(ROOT))
    started = time.monotonic()
    try:
        done = subprocess.run([*PYTEST, rel], cwd=ROOT, capture_output=True, text=True, timeout=timeout_s)
        code, output = done.returncode, done.stdout + done.stderr
    except subprocess.TimeoutExpired as exc:
        partial = exc.stdout if isinstance(exc.stdout, str) else ""
        code, output = -1, f"timed out after {timeout_s:.0f} s\n{partial}"
    result: dict[str, object] = {"file": rel, "exit": code, "seconds": round(time.monotonic() - started, 1)}
    if code != 0:
        result["failed"] = sorted({m.group(2) for m in FAILED_LINE.finditer(output)})
        result["tail"] = output.strip().splitlines()[-3:]
    print(json.dumps(result), file=sys.stderr, flush=True)
    return result


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", help="files or folders (default: tests/ without tests/unit)")
    parser.add_argument("--skip", action="append", default=[], help="path prefix to leave out (repeatable)")
    parser.add_argument("--jobs", type=int, default=1, help="files run at once (restart files always alone)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per file")
    args = parser.parse_args(argv)
    files = test_files(args.paths, args.skip)
    bouncing = [f for f in files if bounces_servers(f)]
    started, load_before = time.monotonic(), os.getloadavg()
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = list(pool.map(lambda f: run_alone(f, args.timeout), [f for f in files if f not in bouncing]))
    results += [run_alone(f, args.timeout) for f in bouncing]
    failures = [r for r in results if r["exit"] != 0]
    summary = {
        "files": len(results),
        "passed": len(results) - len(failures),
        "failed_files": len(failures),
        "failures": [{"file": r["file"], "exit": r["exit"], "failed": r.get("failed", [])} for r in failures],
        "skipped_prefixes": args.skip,
        "wall_s": round(time.monotonic() - started, 1),
        # timeouts and races show up under contention: say how loaded the machine was (1/5/15-minute averages)
        "load_avg_start": [round(x, 2) for x in load_before],
        "load_avg_end": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(summary))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
