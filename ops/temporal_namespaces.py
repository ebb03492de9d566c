"""Temporal namespaces for test runs, and the check that a run left nothing behind.

Every test session registers its own namespace (``test-<run id>``, tests/conftest.py), so its
workflows and schedules never mix with the demo's or another session's; at the end of the
session it terminates what still runs there, deletes its schedules and the namespace itself.
``./dev test`` (ops/run_tests.py) then runs ``python -m ops.temporal_namespaces check BEFORE``:
it fails when any namespace gained a running workflow or a schedule during the run (a test
namespace left undeleted counts with everything in it; runs started by a schedule do not
count). ``before FILE`` records that baseline.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

from google.protobuf.duration_pb2 import Duration
from temporalio.api.enums.v1 import NamespaceState
from temporalio.api.operatorservice.v1 import DeleteNamespaceRequest
from temporalio.api.workflowservice.v1 import ListNamespacesRequest, RegisterNamespaceRequest
from temporalio.client import Client
from temporalio.service import RPCError

from shared.platform.settings import load_settings

TEST_PREFIX = "test-"
RETENTION = Duration(seconds=24 * 3600)  # closed test workflows are kept one day, then purged
SCHEDULED_BY = "TemporalScheduledById"  # search attribute on runs a schedule started


async def register(address: str, namespace: str, timeout_s: float = 60.0) -> None:
    """Register ``namespace`` and wait until its frontend accepts calls (the cache refreshes late)."""
    client = await Client.connect(address, namespace=namespace)
    try:
        await client.workflow_service.register_namespace(
            RegisterNamespaceRequest(namespace=namespace, workflow_execution_retention_period=RETENTION)
        )
    except RPCError as exc:
        if "already" not in str(exc).lower():
            raise
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            async for _ in client.list_workflows(page_size=1):
                break
            return
        except RPCError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


async def clear(address: str, namespace: str) -> list[str]:
    """Terminate every running workflow and delete every schedule in ``namespace``; what was there."""
    client = await Client.connect(address, namespace=namespace)
    removed: list[str] = []
    for schedule in [s async for s in await client.list_schedules()]:
        await client.get_schedule_handle(schedule.id).delete()
        removed.append(f"schedule {schedule.id}")
    async for wf in client.list_workflows('ExecutionStatus="Running"'):
        try:
            await client.get_workflow_handle(wf.id, run_id=wf.run_id).terminate(reason="test session ended")
        except RPCError:
            continue  # it finished meanwhile
        removed.append(f"workflow {wf.id} ({wf.workflow_type})")
    return removed


async def delete(address: str, namespace: str) -> None:
    """Delete a (cleared) test namespace; the server purges its closed workflows in the background."""
    if not namespace.startswith(TEST_PREFIX):
        raise ValueError(f"refusing to delete {namespace!r}: not a test namespace")
    client = await Client.connect(address)
    await client.operator_service.delete_namespace(DeleteNamespaceRequest(namespace=namespace))


async def _namespaces(client: Client) -> list[str]:
    names: list[str] = []
    token = b""
    while True:
        page = await client.workflow_service.list_namespaces(ListNamespacesRequest(next_page_token=token))
        names += [
            ns.namespace_info.name
            for ns in page.namespaces
            if ns.namespace_info.state == NamespaceState.NAMESPACE_STATE_REGISTERED
        ]
        token = page.next_page_token
        if not token:
            return names


async def inventory(address: str) -> dict[str, list[str]]:
    """Per namespace: its schedules and the running workflows no schedule started."""
    root = await Client.connect(address)
    found: dict[str, list[str]] = {}
    for namespace in await _namespaces(root):
        if namespace.startswith("temporal-"):
            continue  # the server's own system namespace
        client = Client(root.service_client, namespace=namespace)
        items = [f"schedule {s.id}" async for s in await client.list_schedules()]
        async for wf in client.list_workflows('ExecutionStatus="Running"'):
            if SCHEDULED_BY not in (wf.search_attributes or {}):
                items.append(f"workflow {wf.id} ({wf.workflow_type}, queue {wf.task_queue})")
        found[namespace] = sorted(items)
    return found


def leftovers(before: dict[str, list[str]], after: dict[str, list[str]]) -> list[str]:
    """What any namespace gained since ``before`` (a test session deletes its own namespace)."""
    out: list[str] = []
    for namespace, items in sorted(after.items()):
        known = set(before.get(namespace, []))
        out += [f"{namespace}: {item}" for item in items if item not in known]
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("before", "check"):
        print("usage: python -m ops.temporal_namespaces before|check FILE", file=sys.stderr)
        return 2
    command, path = argv[0], Path(argv[1])
    address = load_settings().temporal.address
    now = asyncio.run(inventory(address))
    if command == "before":
        path.write_text(json.dumps(now))
        return 0
    left = leftovers(json.loads(path.read_text()), now)
    if left:
        print(f"the test run left {len(left)} things in Temporal at {address}:", file=sys.stderr)
        print("\n".join("  " + item for item in left), file=sys.stderr)
        return 1
    print(f"Temporal at {address}: no test workflows running, no test schedules")
    return 0


if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    # Measured: the Temporal SDK's core threads can abort the interpreter while it finalises
    # (PyGILState_Release), turning a verdict into exit 134/139; leave without finalising.
    os._exit(code)
