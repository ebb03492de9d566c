"""Versioned, idempotent PostgreSQL migrations.

Files in ``migrations/`` are named ``NNNN_title.sql``. A migration may come in two variants,
``NNNN_title.timescale.sql`` and ``NNNN_title.plain.sql``: the TimescaleDB one is applied when
``CREATE EXTENSION timescaledb`` succeeds, the plain-PostgreSQL one otherwise. Each migration
runs in its own transaction under an advisory lock, and is recorded in ``schema_migrations``,
so running the set twice, or from two processes at once, applies each file exactly once.

Migrations run as the schema's owner role; :func:`grant_app_role` then gives the application
role exactly what it needs: read and write on ordinary tables, INSERT and SELECT only on the
append-only ones (``APPEND_ONLY``), never ownership (so no ALTER, TRUNCATE, DROP or DISABLE
TRIGGER). With one role for both (scratch test databases) the grants are skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_NAME = re.compile(r"^(?P<version>\d{4})_(?P<title>[a-z0-9_]+?)(?:\.(?P<variant>timescale|plain))?\.sql$")
_LOCK_KEY = 7_426_001  # advisory lock id for migrations
APPEND_ONLY = ("intervention_audit_log",)  # the application role may only INSERT and SELECT these
INSERT_SELECT_DELETE = ("intervention_audit_personal",)  # erasable, never editable in place


@dataclass(frozen=True)
class Migration:
    version: int
    title: str
    path: Path


def discover(flavour: str, directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Migrations in order, choosing the variant for ``flavour`` ('timescale' or 'plain')."""
    chosen: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise ValueError(f"badly named migration: {path.name}")
        variant = match["variant"]
        if variant is not None and variant != flavour:
            continue
        version = int(match["version"])
        if version in chosen and variant is None:
            continue  # a variant-specific file wins over a generic one
        chosen[version] = Migration(version, match["title"], path)
    return [chosen[v] for v in sorted(chosen)]


async def detect_flavour(conn: asyncpg.Connection) -> str:
    """'timescale' when the extension can be created here, else 'plain'."""
    try:
        async with conn.transaction():
            await conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        return "timescale"
    except asyncpg.PostgresError:
        return "plain"


async def _recorded(conn: asyncpg.Connection) -> tuple[str | None, set[int]]:
    """The flavour and versions already applied (None when the table does not exist yet)."""
    if await conn.fetchval("SELECT to_regclass('schema_migrations')") is None:
        return None, set()
    rows = await conn.fetch("SELECT version, flavour FROM schema_migrations")
    return (rows[0]["flavour"] if rows else None), {r["version"] for r in rows}


async def grant_app_role(conn: asyncpg.Connection, app_role: str) -> None:
    """Give ``app_role`` its privileges on everything in the public schema (idempotent)."""
    role = await conn.fetchval("SELECT quote_ident($1::text)", app_role)
    await conn.execute(
        f"""GRANT USAGE ON SCHEMA public TO {role};
            REVOKE CREATE ON SCHEMA public FROM {role};
            GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role};
            REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA public FROM {role};
            GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {role};"""
    )
    for table in APPEND_ONLY:
        if await conn.fetchval("SELECT to_regclass($1)", table) is not None:
            await conn.execute(f"REVOKE UPDATE, DELETE ON {table} FROM {role}")
    for table in INSERT_SELECT_DELETE:
        if await conn.fetchval("SELECT to_regclass($1)", table) is not None:
            await conn.execute(f"REVOKE UPDATE ON {table} FROM {role}")


async def migrate(conn: asyncpg.Connection, directory: Path = MIGRATIONS_DIR, app_role: str | None = None) -> list[str]:
    """Apply pending migrations as the connected (owner) role; returns the names applied now.

    ``app_role``, when another role than the connected one, gets its grants afterwards. With
    nothing pending no DDL is issued, so the application role may call this on a migrated database.
    """
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
    try:
        flavour, done = await _recorded(conn)
        if flavour is not None and {m.version for m in discover(flavour, directory)} <= done:
            await _grant_if_other(conn, app_role)
            return []
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   version integer PRIMARY KEY,
                   title text NOT NULL,
                   flavour text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        flavour = await detect_flavour(conn)
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        applied: list[str] = []
        for migration in discover(flavour, directory):
            if migration.version in done:
                continue
            async with conn.transaction():
                await conn.execute(migration.path.read_text())
                await conn.execute(
                    "INSERT INTO schema_migrations (version, title, flavour) VALUES ($1, $2, $3)",
                    migration.version,
                    migration.title,
                    flavour,
                )
            applied.append(migration.path.name)
        await _grant_if_other(conn, app_role)
        return applied
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)


async def _grant_if_other(conn: asyncpg.Connection, app_role: str | None) -> None:
    if app_role and app_role != await conn.fetchval("SELECT current_user"):
        await grant_app_role(conn, app_role)


async def migrate_database(owner_dsn: str, app_role: str | None = None) -> list[str]:
    """Connect as the owner role (a one-off connection), migrate, and grant ``app_role``."""
    conn = await asyncpg.connect(owner_dsn)
    try:
        return await migrate(conn, app_role=app_role)
    finally:
        await conn.close()
