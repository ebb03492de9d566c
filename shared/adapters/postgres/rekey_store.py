"""The pseudonym key rotation's SQL: every column and JSON document that holds a pseudonym,
rewritten inside ONE transaction (``RekeyStore.rewrite``) through a temporary mapping table.

The service (``shared.services.rekey``) owns the rules (the mapping, the translation of text,
when to refuse); this module knows where pseudonyms are stored.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg

from shared.adapters.postgres import audit
from shared.adapters.postgres.erasure_store import JSON_COLUMNS as PSEUDONYM_QUOTING_JSON
from shared.adapters.postgres.pool import PgPool, rows_affected

# (table, columns) holding one pseudonym per column
KEYED_COLUMNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("interactions", ("src", "dst")),
    ("pair_totals", ("src", "dst")),
    ("person_totals", ("person",)),
    ("employee_metrics", ("employee",)),
    ("employee_metrics_hourly", ("employee",)),
    ("employee_period_metrics", ("employee",)),
    ("outcomes", ("employee",)),
    ("employee_attributes", ("employee",)),
    ("erasures", ("subject",)),
)
# JSON columns that may quote pseudonyms, rewritten token by token: the erasure's, plus team
# summaries and export parameters (an erasure handles those two its own way)
JSON_COLUMNS: tuple[tuple[str, str], ...] = (
    *PSEUDONYM_QUOTING_JSON,
    ("metrics_summaries", "teams"),
    ("exports", "params"),
)


@dataclass(frozen=True)
class PersonalPayload:
    """An audit row's erasable payload (outside the chain) and the pseudonyms it names."""

    ref: str
    payload: str
    subjects: list[str]


class PseudonymRewrite:
    """The statements of one rotation, all on the connection of its transaction."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def stored_pseudonyms(self) -> set[str]:
        """Every distinct pseudonym-shaped token in every table of the database."""
        tables = await self._conn.fetch(
            """SELECT format('%I.%I', n.nspname, c.relname) AS name FROM pg_class c
               JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
                AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_%'"""
        )
        found: set[str] = set()
        for t in tables:
            rows = await self._conn.fetch(
                f"SELECT DISTINCT (regexp_matches(x::text, 'p_[0-9a-f]{{32}}', 'g'))[1] AS p FROM {t['name']} x"
            )
            found.update(r["p"] for r in rows)
        return found

    async def rewrite_keyed_columns(self, table: Mapping[str, str]) -> dict[str, int]:
        """Replace old pseudonyms by new ones in every keyed column; rows changed per table."""
        await self._conn.execute("CREATE TEMP TABLE rekey_map (old text PRIMARY KEY, new text NOT NULL) ON COMMIT DROP")
        await self._conn.copy_records_to_table("rekey_map", records=list(table.items()))
        changed: dict[str, int] = {}
        for name, columns in KEYED_COLUMNS:
            total = 0
            for column in columns:
                status = await self._conn.execute(
                    f"UPDATE {name} t SET {column} = m.new FROM rekey_map m WHERE t.{column} = m.old"
                )
                total += rows_affected(status)
            changed[name] = total
        return changed

    async def rewrite_json_columns(self, translate: Callable[[str], str]) -> dict[str, int]:
        """Pass every JSON document quoting a pseudonym through ``translate``; rows changed per
        ``table.column``."""
        changed: dict[str, int] = {}
        for name, column in JSON_COLUMNS:
            count = 0
            rows = await self._conn.fetch(
                f"SELECT ctid, {column}::text AS body FROM {name} WHERE {column}::text ~ 'p_[0-9a-f]{{32}}'"
            )
            for r in rows:
                body = translate(r["body"])
                if body != r["body"]:
                    await self._conn.execute(f"UPDATE {name} SET {column} = $2::jsonb WHERE ctid = $1", r["ctid"], body)
                    count += 1
            changed[f"{name}.{column}"] = count
        return changed

    async def personal_payloads_naming(self, pseudonyms: Sequence[str]) -> list[PersonalPayload]:
        rows = await self._conn.fetch(
            """SELECT ref, payload::text AS payload, subjects FROM intervention_audit_personal
                WHERE subjects && $1::text[]""",
            list(pseudonyms),
        )
        return [PersonalPayload(r["ref"], r["payload"], list(r["subjects"])) for r in rows]

    async def replace_personal_payloads(
        self, *, key: bytes, actor: str, translated: Mapping[str, Any], subjects: Sequence[str]
    ) -> None:
        """Re-record the translated payloads (by their old ref) in one new ``audit.rekeyed``
        entry, then delete the old payloads: the append-only chain is never rewritten."""
        refs = sorted(translated)
        await audit.append(
            self._conn,
            key=key,
            event_key=f"audit.rekeyed:{refs[0]}:{len(refs)}",
            intervention_id="rekey",
            event="audit.rekeyed",
            actor=actor,
            details={"payloads": len(refs), "refs": refs},
            personal={"payloads": dict(translated)},
            subjects=subjects,
        )
        await self._conn.execute("DELETE FROM intervention_audit_personal WHERE ref = ANY($1::text[])", refs)


class RekeyStore:
    def __init__(self, pool: PgPool) -> None:
        self._pool = pool

    @asynccontextmanager
    async def rewrite(self) -> AsyncIterator[PseudonymRewrite]:
        """One transaction: it commits when the block ends normally, rolls back on any exception."""
        async with self._pool.acquire() as conn, conn.transaction():
            yield PseudonymRewrite(conn)
