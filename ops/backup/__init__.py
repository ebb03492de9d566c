"""Backups of the PostgreSQL ledger with pgBackRest, restores into fresh data directories, and the
recovery drill (`python -m ops.backup`, see cli.py). The stack side (the stanza, WAL archiving, the
S3 repository's TLS listener) lives in ops/stack/pgbackrest.py."""
