"""Versioned, idempotent PostgreSQL migrations.

Files in ``migrations/`` are named ``NNNN_title.sql``. A migration may come in two variants,
``NNNN_title.timescale.sql`` and ``NNNN_title.plain.sql``: the TimescaleDB one is applied when
``CREATE EXTENSION timescaledb`` succeeds, the plain-PostgreSQL one otherwise. Each migration
runs in its own transaction under an advisory lock, and is recorded in ``schema_migrations``,
so running the set twice, or from two processes at once, applies each file exactly once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_NAME = re.compile(r"^(?P<version>\d{4})_(?P<title>[a-z0-9_]+?)(?:\.(?P<variant>timescale|plain))?\.sql$")
_LOCK_KEY = 7_426_001  # advisory lock id for migrations


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


async def migrate(conn: asyncpg.Connection, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply pending migrations; returns the names applied now."""
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
    try:
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
        return applied
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
