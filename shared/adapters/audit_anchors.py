"""Audit chain anchors in S3: the head (row id, row hash) copied outside PostgreSQL.

One object per anchor, ``<prefix>/<id, 20 digits>.json``, never overwritten. Locally the anchor
bucket is writable only by a separate S3 identity (``ops/stack`` gives the application's
identity read access only); in production use an object-locked bucket (compliance retention)
and give the anchor job its own credentials. boto3 is synchronous: call these in a thread.
"""

from __future__ import annotations

import json
from typing import Any

from shared.adapters.objects import build_s3
from shared.adapters.postgres.audit_chain import Anchor
from shared.platform.settings import Settings


class AnchorConflict(RuntimeError):
    """An anchor already exists at this id with another hash: the chain was rewritten."""


def anchor_client(settings: Settings) -> Any:
    """An S3 client with the anchor job's own credentials (falls back to the app's, read use)."""
    if settings.audit.anchor_s3_access_key and settings.audit.anchor_s3_secret_key:
        return build_s3(
            settings.replace(
                **{
                    "s3_access_key": settings.audit.anchor_s3_access_key,
                    "s3_secret_key": settings.audit.anchor_s3_secret_key,
                }
            )
        )
    return build_s3(settings)


def _key(prefix: str, anchor_id: int) -> str:
    return f"{prefix.rstrip('/')}/{anchor_id:020d}.json"


def write_anchor(s3: Any, bucket: str, prefix: str, anchor: Anchor, at: str) -> bool:
    """Store ``anchor`` unless already stored; True when written now. A different hash raises."""
    try:
        s3.head_bucket(Bucket=bucket)
    except s3.exceptions.ClientError:
        s3.create_bucket(Bucket=bucket)
    key = _key(prefix, anchor.id)
    try:
        existing = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except s3.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("NoSuchKey", "404"):
            raise
    else:
        if existing.get("row_hash") != anchor.row_hash:
            raise AnchorConflict(f"anchor {anchor.id} holds {existing.get('row_hash')}, the chain {anchor.row_hash}")
        return False
    body = json.dumps({"id": anchor.id, "row_hash": anchor.row_hash, "anchored_at": at}).encode()
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
    return True


def read_anchors(s3: Any, bucket: str, prefix: str) -> list[Anchor]:
    """Every anchor under ``prefix`` (none when the bucket does not exist yet)."""
    anchors: list[Anchor] = []
    try:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix.rstrip("/") + "/")
        for page in pages:
            for item in page.get("Contents", []):
                body = json.loads(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
                anchors.append(Anchor(int(body["id"]), str(body["row_hash"])))
    except s3.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchBucket", "404"):
            return []
        raise
    return sorted(anchors, key=lambda a: a.id)
