"""boto3 clients for the stack's SeaweedFS S3 (the application's identity unless told otherwise)."""

from __future__ import annotations

from typing import Any

import boto3
from botocore import UNSIGNED
from botocore.config import Config

from ops.stack.config import HOST, REGION, port, secret


def s3_client(
    access_key: str | None = None, secret_key: str | None = None, *, timeout: float = 60.0, attempts: int = 5
) -> Any:
    """A client on the local S3 port; ``access_key=""`` sends unsigned (anonymous) requests.

    A session of its own, because boto3's default session is not safe across the threads `up` uses.
    """
    unsigned = access_key == ""
    config = Config(
        connect_timeout=timeout,
        read_timeout=timeout,
        retries={"max_attempts": attempts},
        signature_version=UNSIGNED if unsigned else "s3v4",
        s3={"addressing_style": "path"},
    )
    return boto3.session.Session().client(
        "s3",
        endpoint_url=f"http://{HOST}:{port('s3')}",
        aws_access_key_id=None if unsigned else (access_key or secret("s3_access_key")),
        aws_secret_access_key=None if unsigned else (secret_key or secret("s3_secret_key")),
        region_name=REGION,
        config=config,
    )
