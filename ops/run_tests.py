"""Runs the suite in two pytest sessions: everything, then the server-restart tests (they bounce
servers that the first session's pools hold). "No tests collected" (exit 5) counts as failure."""

import subprocess
import sys

BASE = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"]
extra = sys.argv[1:]
if extra:
    sys.exit(subprocess.call([*BASE, *extra]))
first = subprocess.call([*BASE, "-m", "not restart"])
second = subprocess.call([*BASE, "-m", "restart"])
for code in (first, second):
    if code == 5:
        print("no tests were collected: failing on purpose", file=sys.stderr)
        sys.exit(1)
sys.exit(first or second)
