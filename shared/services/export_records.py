"""Reading and cancelling exports: the exports API's read side (writing one is ``exports``)."""

from __future__ import annotations

from shared.adapters.postgres.exports_store import ExportRow, ExportsStore
from shared.platform.resources import Resources
from shared.services import audit
from workflows.exports import client as export_client

__all__ = ["ExportRow", "cancel", "get", "listed"]


async def get(resources: Resources, export_id: str) -> ExportRow | None:
    return await ExportsStore(resources.pg).get(export_id)


async def listed(resources: Resources, requested_by: str | None, limit: int) -> list[ExportRow]:
    """Newest first; everyone's when ``requested_by`` is None (an admin's list)."""
    return await ExportsStore(resources.pg).list_for(requested_by, limit)


async def cancel(resources: Resources, export: ExportRow, actor: str) -> ExportRow:
    """Mark the export cancelled, ask its workflow to stop (best effort: the activity also stops
    at its next check of the row), audit it; the updated row."""
    store = ExportsStore(resources.pg)
    await store.finish(export.id, "cancelled")
    try:
        client = await resources.temporal()
        await export_client.cancel(client, export.workflow_id or "")
    except Exception:  # noqa: BLE001 - the row is cancelled; the activity stops at its next check
        pass
    await audit.record(
        resources.pg,
        resources.settings.audit.key,
        event="export.cancelled",
        actor=actor,
        subject=f"export:{export.id}",
        details={},
    )
    updated = await store.get(export.id)
    assert updated is not None
    return updated
