"""docs/runbooks/secret-rotation.md, "Database passwords", rehearsed on the real stack: two login
roles that are members of the application role take turns, so the running revision keeps its
connections while the next one starts with the new password; no request fails during the switch
and the retired password stops working."""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import ExitStack
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest

from ops.processes import serve, settings_env
from ops.stack.config import secret
from shared.platform.settings import Settings
from shared.platform.tokens import mint_token

APP = "functions.interventions_api.main:app"


def _dsn(base: str, user: str, password: str, database: str | None = None) -> str:
    parts = urlsplit(base)
    netloc = f"{user}:{password}@{parts.hostname}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, f"/{database}" if database else parts.path, "", ""))


@pytest.fixture()
async def superuser(settings: Settings) -> AsyncIterator[asyncpg.Connection]:
    """The local cluster's superuser (a DBA's role; the application role cannot create roles)."""
    conn = await asyncpg.connect(
        _dsn(settings.postgres.dsn.get_secret_value(), "postgres", secret("pg_superuser_password"), "postgres")
    )
    yield conn
    await conn.close()


class Traffic:
    """A client loop behind a switchable target (the router's traffic split, in one attribute)."""

    def __init__(self, token: str, target: str) -> None:
        self.target = target
        self.statuses: Counter[tuple[str, int]] = Counter()
        self.errors: list[str] = []
        self._token = token
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(headers={"Authorization": f"Bearer {self._token}"}, timeout=30) as http:
            while not self._stop.is_set():
                target = self.target
                try:
                    r = http.get(f"{target}/v1/interventions?limit=5")
                    self.statuses[(target, r.status_code)] += 1
                except httpx.HTTPError as exc:
                    self.errors.append(f"{target}: {exc!r}")
                time.sleep(0.02)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)


async def test_database_password_rotation_drops_no_request(
    settings: Settings, superuser: asyncpg.Connection, run_id: str
) -> None:
    app_role = urlsplit(settings.postgres.dsn.get_secret_value()).username
    blue, green = f"co_rot_{run_id}_blue", f"co_rot_{run_id}_green"
    blue_pw, green_pw = secrets.token_urlsafe(18), secrets.token_urlsafe(18)
    base = settings.postgres.dsn.get_secret_value()
    await superuser.execute(f'CREATE ROLE "{blue}" LOGIN IN ROLE "{app_role}" PASSWORD \'{blue_pw}\'')
    await superuser.execute(f'CREATE ROLE "{green}" NOLOGIN IN ROLE "{app_role}"')
    token = mint_token(settings, subject="rotation-analyst", roles=["analyst"])
    blue_revision = ExitStack()
    try:
        env_blue = settings_env(settings, pg_dsn=_dsn(base, blue, blue_pw), rate_limit_read=10**6)
        url_blue = blue_revision.enter_context(serve(APP, env_blue))
        traffic = Traffic(token, url_blue)
        traffic.start()
        try:
            time.sleep(2)
            # 1. the standby role gets the new password and may log in
            await superuser.execute(f"ALTER ROLE \"{green}\" LOGIN PASSWORD '{green_pw}'")
            # 2. the next revision starts with it
            env_green = settings_env(settings, pg_dsn=_dsn(base, green, green_pw), rate_limit_read=10**6)
            with serve(APP, env_green) as url_green:
                # 3. traffic moves to it, then the old revision drains and stops (SIGTERM)
                traffic.target = url_green
                time.sleep(0.5)
                blue_revision.close()
                # 4. the old password is retired
                await superuser.execute(f'ALTER ROLE "{blue}" NOLOGIN PASSWORD NULL')
                time.sleep(2)
                users = await superuser.fetch(
                    "SELECT DISTINCT usename FROM pg_stat_activity WHERE usename = ANY($1::text[])", [blue, green]
                )
                traffic.stop()  # before the new revision's block ends
        finally:
            traffic.stop()
        assert traffic.errors == []
        assert set(traffic.statuses) == {(url_blue, 200), (url_green, 200)}, traffic.statuses
        assert traffic.statuses[(url_blue, 200)] > 10 and traffic.statuses[(url_green, 200)] > 10
        assert [r["usename"] for r in users] == [green]
        # the abuse case: whoever kept the old secret can no longer connect
        with pytest.raises(asyncpg.InvalidAuthorizationSpecificationError):
            await asyncpg.connect(_dsn(base, blue, blue_pw))
    finally:
        blue_revision.close()
        await superuser.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = ANY($1::text[])", [blue, green]
        )
        await superuser.execute(f'DROP ROLE IF EXISTS "{blue}"')
        await superuser.execute(f'DROP ROLE IF EXISTS "{green}"')
