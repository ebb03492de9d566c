"""What a restore is checked against: row counts, content checksums, the audit chain and graph weights."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from shared.adapters.graph import build_graph_store
from shared.adapters.postgres.audit_chain import verify as audit_verify
from shared.platform.settings import Settings

# table -> ordering key: what the drill and `restore` compare (content checksums, row counts)
LEDGER_TABLES = {
    "event_receipts": "event_id",
    "interactions": "event_id, src, dst",
    "pair_totals": "src, dst",
    "person_totals": "person",
    "intervention_audit_log": "id",
    "interventions": "intervention_id",
}


@dataclass(frozen=True)
class LedgerFingerprint:
    counts: dict[str, int]
    checksums: dict[str, str]
    last_applied_at: float | None  # newest committed event (event_receipts.applied_at)
    person_totals: dict[str, tuple[float, float, int, int]]
    pair_weights: dict[tuple[str, str], float]
    audit_ok: bool
    audit_head: str


async def fingerprint(dsn: str, audit_key: bytes) -> LedgerFingerprint:
    """Row counts, content checksums and the audit chain of a ledger database."""
    conn = await asyncpg.connect(dsn)
    try:
        present = {
            r["relname"]
            for r in await conn.fetch(
                "SELECT relname FROM pg_class WHERE relkind IN ('r', 'p') AND relnamespace = 'public'::regnamespace"
            )
        }
        counts: dict[str, int] = {}
        checksums: dict[str, str] = {}
        for table, key in LEDGER_TABLES.items():
            if table not in present:
                continue
            row = await conn.fetchrow(
                f"SELECT count(*) AS n, md5(coalesce(string_agg(t::text, E'\\n' ORDER BY {key}), '')) AS sum "
                f"FROM {table} t"
            )
            counts[table], checksums[table] = int(row["n"]), str(row["sum"])
        last = await conn.fetchval("SELECT extract(epoch FROM max(applied_at))::float8 FROM event_receipts")
        people = {
            r["person"]: (float(r["out_weight"]), float(r["in_weight"]), int(r["out_degree"]), int(r["in_degree"]))
            for r in await conn.fetch("SELECT person, out_weight, in_weight, out_degree, in_degree FROM person_totals")
        }
        pairs = {
            (r["src"], r["dst"]): float(r["weight"])
            for r in await conn.fetch("SELECT src, dst, weight FROM pair_totals")
        }
        report = await audit_verify(conn, audit_key)
    finally:
        await conn.close()
    return LedgerFingerprint(counts, checksums, last, people, pairs, report.ok, report.head)


async def graph_weights(settings: Settings) -> dict[tuple[str, str], float]:
    graph = build_graph_store(settings)
    try:
        snap = await graph.snapshot()
    finally:
        await graph.close()
    return {(e.src, e.dst): float(e.weight) for e in snap.edges}
