"""Debian PostgreSQL 15 via pg_ctl; run as user postgres when we are root (it refuses root)."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
from pathlib import Path

import psutil

from ops.stack.config import (
    HOST,
    IS_ROOT,
    LOGS,
    PG_DATABASES,
    PG_OWNER_ROLE,
    PG_ROLE,
    SECRETS,
    VAR,
    StackError,
    as_postgres,
    chown_postgres,
    pg_bin_dir,
    say,
    secret,
    write_private,
)
from ops.stack.pgbackrest import Cluster
from ops.stack.server import Server, tail

# Hand every object the application role owns in the public schema to the owner role (older
# stacks migrated as the application role). Run as the superuser in each database.
_HAND_OVER_SQL = f"""
DO $$
DECLARE r record; moved boolean := false;
BEGIN
    FOR r IN SELECT c.oid::regclass AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
               AND c.relowner = '{PG_ROLE}'::regrole LOOP
        EXECUTE format('ALTER TABLE %s OWNER TO {PG_OWNER_ROLE}', r.name);
        moved := true;
    END LOOP;
    FOR r IN SELECT c.oid::regclass AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND c.relkind = 'S' AND c.relowner = '{PG_ROLE}'::regrole LOOP
        EXECUTE format('ALTER SEQUENCE %s OWNER TO {PG_OWNER_ROLE}', r.name);
    END LOOP;
    FOR r IN SELECT p.oid::regprocedure AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = 'public' AND p.proowner = '{PG_ROLE}'::regrole LOOP
        EXECUTE format('ALTER ROUTINE %s OWNER TO {PG_OWNER_ROLE}', r.name);
    END LOOP;
    FOR r IN SELECT t.oid::regtype AS name FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
             WHERE n.nspname = 'public' AND t.typowner = '{PG_ROLE}'::regrole AND t.typtype IN ('e', 'd')
               AND t.typrelid = 0 LOOP
        EXECUTE format('ALTER TYPE %s OWNER TO {PG_OWNER_ROLE}', r.name);
    END LOOP;
    IF moved THEN  -- until the next `causal-organism migrate` applies grant_app_role
        GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {PG_ROLE};
        GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {PG_ROLE};
        IF to_regclass('intervention_audit_log') IS NOT NULL THEN
            REVOKE UPDATE, DELETE, TRUNCATE ON intervention_audit_log FROM {PG_ROLE};
        END IF;
    END IF;
END;
$$;
"""


def checkout_id() -> str:
    """A random id for this checkout, made once and kept in var/checkout-id."""
    path = VAR / "checkout-id"
    if not path.exists():
        VAR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(6) + "\n")
    return path.read_text().strip()


class Postgres(Server):
    """The stack's ledger cluster: roles, databases and WAL archiving set up on every start."""

    name = "postgres"
    port_key = "postgres"
    ready_timeout = 90.0
    stop_timeout = 60.0
    needs = ("s3",)  # archive_command pushes WAL to the S3 repository (a shutdown without it stalls ~60 s)

    # Where the cluster lives. As root, the server runs as user `postgres`, which must be able to
    # traverse every parent directory of its data directory; a checkout under /root (or any
    # private directory) is not traversable. So the cluster lives in
    # /var/tmp/causal-organism-<checkout id>/ (one per checkout, owned by postgres, mode 700, data
    # in ./postgres, log in ./postgres.log) and var/postgres and var/log/postgres.log are symlinks
    # to it. /var/tmp survives reboots (unlike /tmp). Not root: var/postgres itself.
    # The id is random per checkout (var/checkout-id), not derived from the path: a new clone at a
    # removed checkout's path has new secrets, and must not inherit the old cluster's passwords.
    @property
    def base(self) -> Path:
        if not IS_ROOT:
            return VAR
        link = VAR / "postgres"
        if link.is_symlink():
            return Path(os.readlink(link)).parent
        return Path("/var/tmp") / f"causal-organism-{checkout_id()}"

    @property
    def workdir(self) -> Path:
        return self.base / "postgres"

    @property
    def server_log(self) -> Path:
        return self.base / "postgres.log" if IS_ROOT else LOGS / "postgres.log"

    def exe(self) -> Path:
        return pg_bin_dir() / "postgres"

    def run_pg(self, cmd: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(as_postgres(cmd), cwd=self.base, capture_output=True, text=True, timeout=timeout)

    def recorded_pid(self) -> int | None:
        """postmaster.pid is authoritative; var/run/postgres.pid mirrors it for tooling."""
        with contextlib.suppress(OSError, ValueError):
            return int((self.workdir / "postmaster.pid").read_text().split()[0])
        return super().recorded_pid()

    def ensure_layout(self) -> None:
        if IS_ROOT:
            self.base.mkdir(mode=0o700, exist_ok=True)
            chown_postgres(self.base)
            self.base.chmod(0o700)
            for link, target in ((VAR / "postgres", self.workdir), (LOGS / "postgres.log", self.server_log)):
                if link.is_symlink() and Path(os.readlink(link)) == target:
                    continue
                if link.exists() and not link.is_symlink():
                    raise StackError(
                        f"postgres: {link} is a real file/directory; move it away (data lives in {target})"
                    )
                with contextlib.suppress(FileNotFoundError):
                    link.unlink()
                link.symlink_to(target)
        self.workdir.mkdir(mode=0o700, exist_ok=True)
        chown_postgres(self.workdir)
        self.workdir.chmod(0o700)

    def initdb(self) -> None:
        """Create the cluster once (idempotent): scram auth, superuser password from var/secrets."""
        if not (pg_bin_dir() / "initdb").exists():
            raise StackError(f"postgres: {pg_bin_dir()}/initdb missing; run `./dev setup` (as root)")
        self.ensure_layout()
        if (self.workdir / "PG_VERSION").exists():
            return
        if any(self.workdir.iterdir()):
            raise StackError(f"postgres: {self.workdir} is not empty but holds no cluster; remove it and retry")
        pwfile = self.base / ".pwfile"  # the postgres user cannot read var/secrets
        write_private(pwfile, secret("pg_superuser_password") + "\n", for_postgres=True)
        try:
            out = self.run_pg(
                [str(pg_bin_dir() / "initdb"), "-D", str(self.workdir), "-U", "postgres",
                 "--auth=scram-sha-256", f"--pwfile={pwfile}", "--encoding=UTF8", "--locale=C.UTF-8"]
            )  # fmt: skip
        finally:
            pwfile.unlink(missing_ok=True)
        if out.returncode != 0:
            raise StackError(f"postgres: initdb failed:\n{out.stdout}{out.stderr}")

    def prepare(self) -> None:
        self.initdb()
        settings = [
            f"listen_addresses = '{HOST}'",
            f"port = {self.port}",
            f"unix_socket_directories = '{self.workdir}'",
            "unix_socket_permissions = 0700",
            *self.backup_cluster().server_settings(),
        ]
        self.backup_cluster().write_config(SECRETS)
        stack_conf = self.workdir / "stack.conf"
        stack_conf.write_text("# written by ops.stack on every start\n" + "\n".join(settings) + "\n")
        main_conf = self.workdir / "postgresql.conf"
        if "include_if_exists = 'stack.conf'" not in main_conf.read_text():
            with open(main_conf, "a") as f:
                f.write("\ninclude_if_exists = 'stack.conf'\n")
        chown_postgres(stack_conf)

    def backup_cluster(self) -> Cluster:
        """The pgBackRest stanza that archives this cluster's WAL (ops/stack/pgbackrest.py)."""
        return Cluster(
            base=self.base,
            data_dir=self.workdir,
            port=self.port,
            superuser_password=secret("pg_superuser_password"),
        )

    def start(self) -> None:
        out = self.run_pg(
            [str(pg_bin_dir() / "pg_ctl"), "-D", str(self.workdir), "-l", str(self.server_log), "-w", "-t",
             str(int(self.ready_timeout)), "start"],
            timeout=self.ready_timeout + 10,
        )  # fmt: skip
        if out.returncode != 0:
            raise StackError(f"postgres: pg_ctl start failed: {out.stdout}{out.stderr}see {self.log}\n{tail(self.log)}")
        pid = self.recorded_pid()
        self.pidfile.write_text(f"{pid}\n")

    def psql(self, user: str, password: str, database: str, sql: str) -> str:
        env = os.environ | {"PGPASSWORD": password, "PGCONNECT_TIMEOUT": "3"}
        out = subprocess.run(
            [str(pg_bin_dir() / "psql"), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", HOST,
             "-p", str(self.port), "-U", user, "-d", database, "-f", "-"],
            input=sql, capture_output=True, text=True, env=env, timeout=30,
        )  # fmt: skip
        if out.returncode != 0:
            raise RuntimeError(out.stderr.strip() or out.stdout.strip())
        return out.stdout

    def after_start(self) -> None:
        """Create or re-sync the roles and databases (idempotent, secrets via stdin).

        The owner role owns the databases, their public schema and every table (migrations run
        as it); the application role keeps CREATEDB for scratch test databases but owns nothing
        in these, so it cannot ALTER, TRUNCATE or DROP the audit log. Objects an older stack
        created as the application role are handed to the owner here.
        """
        sql = ""
        for role, password in ((PG_ROLE, secret("pg_password")), (PG_OWNER_ROLE, secret("pg_owner_password"))):
            pw = password.replace("'", "''")
            sql += f"""
SELECT format('CREATE ROLE {role} LOGIN CREATEDB PASSWORD %L', '{pw}')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}')\\gexec
ALTER ROLE {role} LOGIN CREATEDB PASSWORD '{pw}';
"""
        for db in PG_DATABASES:
            sql += (
                f"SELECT 'CREATE DATABASE {db} OWNER {PG_OWNER_ROLE}' "
                f"WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '{db}')\\gexec\n"
                f"ALTER DATABASE {db} OWNER TO {PG_OWNER_ROLE};\n"
            )
        try:
            self.psql("postgres", secret("pg_superuser_password"), "postgres", sql)
            for db in PG_DATABASES:
                self.psql("postgres", secret("pg_superuser_password"), db, _HAND_OVER_SQL)
        except RuntimeError as exc:
            raise StackError(f"postgres: creating roles/databases failed: {exc}") from exc

    def probe(self) -> None:
        if self.psql(PG_ROLE, secret("pg_password"), PG_DATABASES[0], "SELECT 1").strip() != "1":
            raise RuntimeError("SELECT 1 did not return 1")

    def stop(self, proc: psutil.Process) -> None:
        out = self.run_pg(
            [str(pg_bin_dir() / "pg_ctl"), "-D", str(self.workdir), "-m", "fast", "-w", "-t",
             str(int(self.stop_timeout)), "stop"],
            timeout=self.stop_timeout + 10,
        )  # fmt: skip
        if out.returncode != 0 and proc.is_running():
            say(f"  postgres: pg_ctl stop failed ({out.stderr.strip()}); sending SIGQUIT", err=True)
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.send_signal(signal.SIGQUIT)
            super().stop(proc)
