"""Pseudonym key rotation (``causal-organism rekey``): every stored pseudonym moves from the old
HMAC key to the new one, and nothing else changes.

Cut-over (docs/privacy.md): stop ingestion at the door and let the stream drain (the command
refuses while entries are unacknowledged), run ``rekey``, switch the functions' key to the new
one, resume. The mapping is computed from the raw-id directory (inside the trusted boundary:
it never leaves this process); PostgreSQL is rewritten in ONE transaction (every keyed column,
JSON quoting pseudonyms, export parameters, the audit log's personal payloads), and the same
transaction verifies that no old pseudonym remains anywhere before it commits. Then the graph
is rebuilt from the ledger and the materialised metrics are carried over to the new ids
(values unchanged), and cached responses are dropped.

The audit log is append-only and its personal payloads are covered by a salted digest, so they
cannot be rewritten in place: each affected payload is re-recorded, translated, in one new
``audit.rekeyed`` entry (its own salt and digest), and the old payloads are deleted, which
``audit-verify`` reports as erased payloads while the chain verifies.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from shared.adapters.graph import cypher
from shared.adapters.graph.base import MetricRow
from shared.adapters.postgres.rekey_store import PseudonymRewrite, RekeyStore
from shared.adapters.streams import lag
from shared.domain.metrics import MATERIALISED_PROPERTIES
from shared.domain.privacy import pseudonymise
from shared.platform.caching import invalidate
from shared.platform.resources import Resources
from shared.services.graph_build import rebuild_graph
from shared.services.graph_updater import GRAPH_CACHE_NAMESPACES
from shared.services.ingest import stream_names

PSEUDONYM = re.compile(r"p_[0-9a-f]{32}")


class RekeyRefused(Exception):
    """Rotation cannot proceed safely (stream not drained, or pseudonyms the directory cannot map)."""


@dataclass
class RekeyReport:
    mapped_people: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    audit_payloads_rekeyed: int = 0
    graph: dict[str, Any] = field(default_factory=dict)
    metrics_carried: int = 0
    old_pseudonyms_left: int = 0

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


def read_directory(path: Path) -> list[str]:
    """Raw ids, one per line (blank lines and '#' comments ignored)."""
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def mapping(raw_ids: Iterable[str], old_key: bytes, new_key: bytes) -> dict[str, str]:
    return {pseudonymise(raw, old_key): pseudonymise(raw, new_key) for raw in raw_ids}


def _translate(text: str, table: dict[str, str]) -> str:
    return PSEUDONYM.sub(lambda m: table.get(m.group(0), m.group(0)), text)


async def _rewrite_postgres(
    rewrite: PseudonymRewrite, table: dict[str, str], key: bytes, actor: str, report: RekeyReport
) -> None:
    report.rows.update(await rewrite.rewrite_keyed_columns(table))
    report.rows.update(await rewrite.rewrite_json_columns(lambda text: _translate(text, table)))
    report.audit_payloads_rekeyed = await _rekey_audit(rewrite, table, key, actor)


async def _rekey_audit(rewrite: PseudonymRewrite, table: dict[str, str], key: bytes, actor: str) -> int:
    """Re-record affected personal payloads, translated, in one new entry; delete the old ones."""
    found = await rewrite.personal_payloads_naming(list(table))
    if not found:
        return 0
    translated = {p.ref: json.loads(_translate(p.payload, table)) for p in found}
    subjects = sorted({table.get(s, s) for p in found for s in p.subjects})
    await rewrite.replace_personal_payloads(key=key, actor=actor, translated=translated, subjects=subjects)
    return len(translated)


async def run_rekey(
    resources: Resources, raw_ids: list[str], old_key: bytes, new_key: bytes, actor: str = "rekey"
) -> RekeyReport:
    """Rotate every stored pseudonym from ``old_key`` to ``new_key`` (see the module doc)."""
    if old_key == new_key:
        raise RekeyRefused("the old and new keys are the same")
    names = stream_names(resources.settings)
    backlog = await lag(resources.redis, names)
    if any(backlog.values()):
        raise RekeyRefused(f"the stream still holds unprocessed events ({backlog}); drain it first")
    table = mapping(raw_ids, old_key, new_key)
    report = RekeyReport(mapped_people=len(table))
    carried = await _materialised(resources)
    async with RekeyStore(resources.pg).rewrite() as rewrite:
        stored = await rewrite.stored_pseudonyms()
        unknown = stored - set(table) - set(table.values())
        if unknown:
            raise RekeyRefused(f"{len(unknown)} stored pseudonyms are not in the directory; nothing changed")
        await _rewrite_postgres(rewrite, table, resources.settings.audit.key or b"", actor, report)
        left = await rewrite.stored_pseudonyms() & set(table)
        report.old_pseudonyms_left = len(left)
        if left:
            raise RekeyRefused(f"{len(left)} old pseudonyms remain after the rewrite; rolled back")
    status = await rebuild_graph(resources.settings, resources.redis, resources.pg, resources.graph)
    report.graph = {"state": status.state, "done": status.done}
    rows = [MetricRow(table.get(pid, pid), values) for pid, values in carried.items()]
    await resources.graph.write_metrics(rows)
    report.metrics_carried = len(rows)
    report.rows["redis_stream_entries"] = await _rekey_streams(resources, table)
    await invalidate(resources, list(GRAPH_CACHE_NAMESPACES))
    return report


async def _rekey_streams(resources: Resources, table: dict[str, str]) -> int:
    """The drained stream's acknowledged entries are dropped (trimmed to empty); dead letters,
    kept for inspection, are re-added with translated payloads."""
    redis, settings = resources.redis, resources.settings
    trimmed = int(await redis.xtrim(settings.ingest.stream_name, maxlen=0, approximate=False))
    entries = cast(list[tuple[bytes, dict[bytes, bytes]]], await redis.xrange(settings.ingest.dead_letter_stream))
    for entry_id, fields in entries:
        translated = {k: _translate(v.decode(), table).encode() for k, v in fields.items()}
        if translated != fields:
            await redis.xadd(settings.ingest.dead_letter_stream, translated)  # type: ignore[arg-type]
            await redis.xdel(settings.ingest.dead_letter_stream, entry_id)
    return trimmed + len(entries)


async def _materialised(resources: Resources) -> dict[str, dict[str, Any]]:
    """Each person's materialised metric properties (the refresh's values), to carry over."""
    found = await resources.graph.execute(cypher.ALL_PEOPLE, read_only=True)
    return {r["props"]["id"]: {k: r["props"][k] for k in MATERIALISED_PROPERTIES if k in r["props"]} for r in found}
