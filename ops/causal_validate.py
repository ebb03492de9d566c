"""`task causal:validate`: the calibration study of the causal verdict (>= 50 seeds per scenario).

Prints one line per scenario while it runs and ONE JSON object on the last line of stdout:
per scenario and overall coverage, robust_rate, robust_but_wrong_rate, null_robust_rate, the
targets and whether each is met, the machine's load average before and after, the wall seconds
and the CPU seconds (the seeds' own, summed over the worker processes, and this process's).

The scenario x seed grid runs in ``--workers`` processes (default: one per core); every seed is a
pure function of (scenario, seed), so the figures do not depend on the number of workers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform

from shared.services.causal_calibration import default_workers, run_study


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--scale", type=float, default=1.0, help="shrink every organisation's people")
    parser.add_argument("--simulations", type=int, default=10, help="refuter simulations per refuter")
    parser.add_argument(
        "--workers", type=int, default=default_workers(), help="worker processes (1: serial, in this process)"
    )
    args = parser.parse_args()
    load_before = os.getloadavg()
    report = run_study(
        args.seeds,
        scale=args.scale,
        simulations=args.simulations,
        workers=args.workers,
        log=lambda m: print(m, flush=True),
    )
    report["load_average_before"] = [round(x, 2) for x in load_before]
    report["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    report["machine"] = f"{platform.machine()}, {os.cpu_count()} vCPU, python {platform.python_version()}"
    print(json.dumps(report))
    return 0 if all(report["targets_met"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
