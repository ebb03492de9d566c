"""Exports: the rows an export holds (through the API's own queries and privacy rules), streamed
from PostgreSQL with a server-side cursor into an S3 multipart upload in constant memory.

Memory is bounded by the cursor's prefetch (rows) plus one part (``export_part_bytes``): rows are
written to CSV (optionally gzip-compressed as they go) into a buffer that is uploaded and
emptied each time it reaches the part size. Progress (rows, bytes, %) goes to the ``exports``
row and is published on the change channel; the activity heartbeats with it.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import time
import uuid
import zlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.adapters.objects import MultipartUpload, delete_object, ensure_bucket, ensure_expiry_rule, presign_get
from shared.adapters.postgres.export_sources import (
    ANALYSES_SQL,
    AUDIT_LOG_SQL,
    column_names,
    count_rows,
    stream_records,
)
from shared.adapters.postgres.exports_store import ExportRow, ExportsStore
from shared.adapters.postgres.metrics_store import MetricsStore, employee_history_sql, team_history_sql
from shared.domain.exports import (
    KIND_PERMISSION,
    ExportKind,
    ExportRequest,
    ExportSweep,
    resolve_granularity,
    safe_cell,
)
from shared.domain.privacy import SeriesRelease, team_views
from shared.platform.auth import Permission, principal_from_claims
from shared.platform.resources import Resources
from shared.platform.settings import Settings
from shared.services import audit
from workflows.exports import client as export_client
from workflows.exports.contract import ExportResult, workflow_id

log = logging.getLogger(__name__)

Heartbeat = Callable[..., None]


class ExportRefused(Exception):
    """The requester may not read this data through the API (checked again at run time)."""


class ExportCancelled(Exception):
    """The export was cancelled while it ran."""


@dataclass(frozen=True)
class Source:
    """Where an export's rows come from: a query (streamed) or a small in-memory list."""

    header: list[str]
    sql: str | None = None
    args: tuple[Any, ...] = ()
    rows: list[list[Any]] | None = None
    view: Callable[[dict[str, Any]], dict[str, Any] | None] | None = None  # per streamed row; None drops it


def object_key(settings: Settings, export: ExportRow) -> str:
    return f"{settings.exports.prefix}{export.id}.csv" + (".gz" if export.compress else "")


def may_export(roles: Sequence[str], kind: ExportKind) -> bool:
    """The API's permission table decides: the kind's permission, for these roles."""
    principal = principal_from_claims({"roles": list(roles)})
    return principal.can(Permission(KIND_PERMISSION[kind]))


async def build_source(resources: Resources, export: ExportRow) -> Source:
    """The export's rows, through the same queries and privacy rules as the API's read routes."""
    settings = resources.settings
    kind = ExportKind(export.kind)
    p = export.params
    if kind == ExportKind.TEAM_METRICS:
        summary = await MetricsStore(resources.pg).latest_summary()
        views = team_views(summary["teams"], settings.privacy.min_group_size) if summary else []
        shown = [v for v in views if not v["withheld"]]  # a withheld team has no row at all
        figures = sorted({k for v in shown for k in v["figures"]})
        rows = [[v["team"], v["members"], *(v["figures"].get(f) for f in figures)] for v in shown]
        return Source(header=["team", "members", *figures], rows=rows)
    if kind in (ExportKind.TEAM_HISTORY, ExportKind.EMPLOYEE_HISTORY):
        start, end = datetime.fromisoformat(p["start"]), datetime.fromisoformat(p["end"])
        gran = resolve_granularity(p.get("granularity", "auto"), start, end, settings.metrics.raw_history_max_days)
        if kind == ExportKind.TEAM_HISTORY:
            sql = team_history_sql(gran, one_team=p.get("team") is not None)
            gate = SeriesRelease(
                settings.privacy.min_group_size
            )  # the API's history rule, row by row (team, time order)
            return Source(
                header=[],
                sql=sql,
                args=(p.get("team"), start, end),
                view=lambda row: gate.view(str(row["team"]), row),
            )
        sql = employee_history_sql(gran, one_person=p.get("employee") is not None)
        return Source(header=[], sql=sql, args=(p.get("employee"), start, end))
    if kind == ExportKind.ANALYSES:
        return Source(header=[], sql=ANALYSES_SQL)
    start, end = datetime.fromisoformat(p["start"]), datetime.fromisoformat(p["end"])
    return Source(header=[], sql=AUDIT_LOG_SQL, args=(start, end))


class _CsvParts:
    """CSV text -> (gzip) bytes -> parts of at least ``part_bytes`` handed to ``flush``."""

    def __init__(self, compress: bool, part_bytes: int) -> None:
        self._text = io.StringIO()
        self._writer = csv.writer(self._text, lineterminator="\r\n")
        self._zip = zlib.compressobj(6, zlib.DEFLATED, 31) if compress else None
        self._buffer = bytearray()
        self._part_bytes = part_bytes
        self.bytes_out = 0

    def write(self, cells: Sequence[Any]) -> None:
        self._writer.writerow([safe_cell(c) for c in cells])

    def _drain_text(self) -> None:
        data = self._text.getvalue().encode("utf-8")
        self._text.seek(0)
        self._text.truncate()
        if self._zip is not None:
            data = self._zip.compress(data)
        self._buffer += data

    def take_part(self, final: bool = False) -> bytes | None:
        """A full part (or, when ``final``, whatever is left); None when not enough yet."""
        self._drain_text()
        if final and self._zip is not None:
            self._buffer += self._zip.flush()
        if not final and len(self._buffer) < self._part_bytes:
            return None
        part = bytes(self._buffer)
        self._buffer.clear()
        self.bytes_out += len(part)
        return part


async def _rows(resources: Resources, source: Source, prefetch: int) -> AsyncIterator[Sequence[Any]]:
    """Header first, then every row; queries run through a server-side cursor."""
    if source.rows is not None:
        yield source.header
        for row in source.rows:
            yield row
        return
    assert source.sql is not None
    first = True
    async for record in stream_records(resources.pg, source.sql, source.args, prefetch):
        shown = record if source.view is None else source.view(record)
        if shown is None:
            continue
        if first:
            yield list(shown.keys())
            first = False
        yield list(shown.values())
    if first:  # no rows: still write the header
        yield await column_names(resources.pg, source.sql)


async def _count(resources: Resources, source: Source) -> int:
    """Rows the query yields (an upper bound when a ``view`` drops some): for progress only."""
    if source.rows is not None:
        return len(source.rows)
    assert source.sql is not None
    return await count_rows(resources.pg, source.sql, source.args)


async def run_export(resources: Resources, export_id: str, heartbeat: Heartbeat | None = None) -> ExportResult:
    """Write export ``export_id`` to S3; returns rows and bytes. Raises ExportRefused when the
    requester's roles do not allow the kind, ExportCancelled when it was cancelled meanwhile."""
    settings = resources.settings
    store = ExportsStore(resources.pg)
    export = await store.get(export_id)
    if export is None:
        raise ExportRefused(f"no export {export_id}")
    if not may_export(export.roles, ExportKind(export.kind)):
        await store.finish(export_id, "failed", "the requester may not read this data")
        raise ExportRefused("the requester may not read this data")
    key = object_key(settings, export)
    if not await store.mark_running(export_id, key):
        raise ExportCancelled(export_id)
    await asyncio.to_thread(_prepare_bucket, resources.s3, settings)
    source = await build_source(resources, export)
    total = await _count(resources, source)
    upload = await asyncio.to_thread(
        MultipartUpload,
        resources.s3,
        settings.s3.bucket,
        key,
        "application/gzip" if export.compress else "text/csv; charset=utf-8",
        key.rsplit("/", 1)[-1],
    )
    parts = _CsvParts(export.compress, settings.exports.part_bytes)
    rows, last_report = 0, time.monotonic()
    try:
        header_done = False
        async for cells in _rows(resources, source, settings.exports.cursor_prefetch):
            parts.write(cells)
            if not header_done:
                header_done = True
                continue
            rows += 1
            if rows % 1000 == 0:
                part = parts.take_part()
                if part is not None:
                    await asyncio.to_thread(upload.upload_part, part)
                if time.monotonic() - last_report >= settings.exports.progress_interval_s:
                    last_report = time.monotonic()
                    await _report(resources, store, export_id, rows, parts.bytes_out, total, heartbeat)
        await asyncio.to_thread(upload.upload_part, parts.take_part(final=True) or b"")
        await asyncio.to_thread(upload.complete)
    except BaseException:
        await asyncio.to_thread(upload.abort)
        raise
    delete_after = datetime.now(UTC) + timedelta(days=settings.exports.retention_days)
    if not await store.succeed(export_id, rows, parts.bytes_out, delete_after):
        await asyncio.to_thread(delete_object, resources.s3, settings.s3.bucket, key)
        raise ExportCancelled(export_id)
    await _publish(resources, export_id, "succeeded", rows, parts.bytes_out, 100.0)
    return ExportResult(rows, parts.bytes_out, key)


def _prepare_bucket(s3: Any, settings: Settings) -> None:
    ensure_bucket(s3, settings.s3.bucket)
    if not ensure_expiry_rule(s3, settings.s3.bucket, settings.exports.prefix, settings.exports.retention_days):
        log.info("object store ignores lifecycle rules; the export sweeper deletes expired exports")


async def _report(
    resources: Resources,
    store: ExportsStore,
    export_id: str,
    rows: int,
    nbytes: int,
    total: int,
    heartbeat: Heartbeat | None,
) -> None:
    await store.progress(export_id, rows, nbytes, total)
    percent = round(100.0 * rows / total, 1) if total else None
    if heartbeat is not None:
        heartbeat({"rows": rows, "bytes": nbytes})
    await _publish(resources, export_id, "running", rows, nbytes, percent)


async def _publish(
    resources: Resources, export_id: str, status: str, rows: int, nbytes: int, percent: float | None
) -> None:
    """Progress on the change channel (``{"kind": "export", ...}``), for live views."""
    message = {"kind": "export", "export": export_id, "status": status, "rows": rows, "bytes": nbytes}
    message["percent"] = percent
    try:
        await resources.redis.publish(resources.settings.graph.changed_channel, json.dumps(message))
    except Exception as exc:  # noqa: BLE001 - progress pushes are best effort; the row is the record
        log.warning("export progress not published: %s", type(exc).__name__)


def issue_link(resources: Resources, export: ExportRow, expires_s: int) -> tuple[str, datetime]:
    """A pre-signed GET for the export's object (blocking: call in a thread)."""
    assert export.object_key is not None
    url = presign_get(resources.s3, resources.settings.s3.bucket, export.object_key, expires_s)
    return url, datetime.now(UTC) + timedelta(seconds=expires_s)


async def finish_export(resources: Resources, export_id: str, status: str, error: str | None = None) -> None:
    """Record an export that ended without a file (cancelled, or failed for good)."""
    await ExportsStore(resources.pg).finish(export_id, status, error)


async def sweep_exports(resources: Resources, now: datetime | None = None, dry_run: bool = False) -> ExportSweep:
    """Delete export objects past ``delete_after`` (the lifecycle rule may have done it already)."""
    store = ExportsStore(resources.pg)
    due = await store.due_for_deletion(now or datetime.now(UTC))
    if not dry_run:
        for export in due:
            if export.object_key:
                await asyncio.to_thread(delete_object, resources.s3, resources.settings.s3.bucket, export.object_key)
            await store.mark_deleted(export.id, "expired")
    return ExportSweep(exports_deleted=len(due), dry_run=dry_run)


async def start_export(resources: Resources, request: ExportRequest, subject: str, roles: list[str]) -> ExportRow:
    """Record the export, audit it, and start its workflow; the caller answers 202 at once."""
    export_id = str(uuid.uuid4())
    store = ExportsStore(resources.pg)
    export = await store.create(
        export_id, request.kind.value, request.params(), subject, roles, request.gzip, workflow_id(export_id)
    )
    params = request.params()
    person = params.pop("employee", None)  # a pseudonym: kept outside the hashed payload (erasable)
    try:
        client = await resources.temporal()
        # the audit row and the workflow start are independent: one round trip of latency
        await asyncio.gather(
            audit.record(
                resources.pg,
                resources.settings.audit.key,
                event="export.requested",
                actor=subject,
                subject=f"export:{export_id}",
                details={"kind": request.kind.value, "params": params, "gzip": request.gzip},
                personal={"employee": person} if person else None,
                people=[person] if person else (),
            ),
            export_client.start(client, resources.settings.temporal.task_queue, export_id),
        )
    except Exception:
        await store.finish(export_id, "failed", "the export could not be started (audit or workflow service)")
        raise
    return export
