"""The CO_* settings an application process needs to reach this stack (they contain secrets)."""

from __future__ import annotations

import urllib.parse

from ops.stack.config import (
    AUDIT_ANCHOR_BUCKET,
    HOST,
    PG_DATABASES,
    PG_OWNER_ROLE,
    PG_ROLE,
    REGION,
    SECRETS,
    ensure_secrets,
    find_binary,
    port,
    secret,
)


def app_environment() -> dict[str, str]:
    """Name -> value of every setting; generates missing secrets first."""
    ensure_secrets()
    pg_pw = urllib.parse.quote(secret("pg_password"), safe="")
    pg = f"postgresql://{PG_ROLE}:{pg_pw}@{HOST}:{port('postgres')}"
    owner_pw = urllib.parse.quote(secret("pg_owner_password"), safe="")
    pg_owner = f"postgresql://{PG_OWNER_ROLE}:{owner_pw}@{HOST}:{port('postgres')}"
    test_server = find_binary("temporal-test-server")
    cli = find_binary("temporal")
    return {
        "CO_GRAPH_BACKEND": "falkordb",
        "CO_FALKORDB_HOST": HOST,
        "CO_FALKORDB_PORT": str(port("falkordb")),
        "CO_REDIS_URL": f"redis://{HOST}:{port('redis')}/0",
        "CO_PG_DSN": f"{pg}/{PG_DATABASES[0]}",
        "CO_PG_OWNER_DSN": f"{pg_owner}/{PG_DATABASES[0]}",
        "CO_PG_TEST_DSN": f"{pg}/{PG_DATABASES[1]}",
        "CO_TEMPORAL_ADDRESS": f"{HOST}:{port('temporal')}",
        "CO_TEMPORAL_NAMESPACE": "default",
        "CO_TEMPORAL_UI_URL": f"http://{HOST}:{port('temporal_ui')}",
        "CO_S3_ENDPOINT_URL": f"http://{HOST}:{port('s3')}",
        "CO_S3_REGION": REGION,
        "CO_S3_ACCESS_KEY": secret("s3_access_key"),
        "CO_S3_SECRET_KEY": secret("s3_secret_key"),
        "CO_HMAC_KEY_FILE": str(SECRETS / "hmac_key"),
        "CO_AUDIT_CHAIN_KEY_FILE": str(SECRETS / "audit_chain_key"),
        "CO_DECISION_SIGNING_KEY_FILE": str(SECRETS / "decision_signing.pem"),
        "CO_DECISION_PUBLIC_KEY_FILE": str(SECRETS / "decision_public.pem"),
        # the audit anchor job's own S3 identity (production: only the anchor CronJob holds it)
        "CO_AUDIT_ANCHOR_BUCKET": AUDIT_ANCHOR_BUCKET,
        "CO_AUDIT_ANCHOR_S3_ACCESS_KEY": secret("s3_anchor_access_key"),
        "CO_AUDIT_ANCHOR_S3_SECRET_KEY": secret("s3_anchor_secret_key"),
        # local JWT signing pair, made by `causal-organism dev-keys` (task setup)
        "CO_JWT_PRIVATE_KEY_FILE": str(SECRETS / "jwt_private.pem"),
        "CO_JWT_PUBLIC_KEYS_DIR": str(SECRETS / "jwt_public"),
        "CO_TEMPORAL_TEST_SERVER_PATH": str(test_server.resolve()) if test_server else "",
        "CO_TEMPORAL_CLI_PATH": str(cli.resolve()) if cli else "",
    }
