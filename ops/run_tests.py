"""Runs the suite in tiers (docs/testing.md), failing fast:

1. the unit tier (tests/unit: no server; a failure here stops the run before the slow tiers);
2. the integration tier in two pytest sessions: everything else, then the server-restart tests
   (they bounce servers that the first session's pools hold);
3. the leftover check: no test workflow still running and no test schedule in the local
   Temporal server (ops/temporal_namespaces.py compares with a baseline taken before step 2).

"No tests collected" (exit 5) counts as failure. Arguments, when given, go to one plain pytest
run instead (``./dev test -- tests/metrics -k refresh``).
"""

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASE = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"]
INTEGRATION = [*BASE, "--ignore=tests/unit"]
CHECK = [sys.executable, "-m", "ops.temporal_namespaces"]


def run(command: list[str]) -> int:
    code = subprocess.call(command, cwd=ROOT)
    if code == 5:
        print(f"no tests were collected by {' '.join(command[3:])}: failing on purpose", file=sys.stderr)
        return 1
    return code


def main(extra: list[str]) -> int:
    if extra:
        return subprocess.call([*BASE, *extra], cwd=ROOT)
    unit = run([*BASE, "tests/unit"])
    if unit:
        print("unit tier failed: the integration tier was not run", file=sys.stderr)
        return unit
    with tempfile.TemporaryDirectory() as tmp:
        baseline = str(Path(tmp) / "temporal-before.json")
        if subprocess.call([*CHECK, "before", baseline], cwd=ROOT):
            return 1
        first = run([*INTEGRATION, "-m", "not restart"])
        second = run([*INTEGRATION, "-m", "restart"])
        leftovers = subprocess.call([*CHECK, "check", baseline], cwd=ROOT)
    return first or second or leftovers


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
