"""S3-compatible object storage through boto3 (SeaweedFS locally, S3 in production).

boto3 is synchronous; callers run it in a worker thread (``asyncio.to_thread``). It is imported
when the first client is built (only the export, erasure and audit paths hold one: a tenth of a
function's cold start otherwise); errors are caught as ``s3.exceptions.ClientError``.
"""

from __future__ import annotations

import contextlib
from typing import Any

from shared.platform.settings import Settings


def build_s3(settings: Settings) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=settings.s3.endpoint_url,
        region_name=settings.s3.region,
        aws_access_key_id=settings.s3.access_key.get_secret_value() if settings.s3.access_key else None,
        aws_secret_access_key=settings.s3.secret_key.get_secret_value() if settings.s3.secret_key else None,
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=3,
            read_timeout=30,
            max_pool_connections=16,
        ),
    )


def ensure_bucket(s3: Any, bucket: str) -> None:
    try:
        s3.head_bucket(Bucket=bucket)
    except s3.exceptions.ClientError:
        s3.create_bucket(Bucket=bucket)


def ensure_expiry_rule(s3: Any, bucket: str, prefix: str, days: int) -> bool:
    """Ask the store to expire objects under ``prefix`` after ``days`` (an S3 lifecycle rule).

    Returns False when the store refuses or ignores lifecycle configuration; the scheduled
    sweeper deletes expired objects either way.
    """
    rule = {"ID": f"expire-{prefix.strip('/')}", "Filter": {"Prefix": prefix}, "Status": "Enabled"}
    rule["Expiration"] = {"Days": days}
    try:
        s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [rule]})
        got = s3.get_bucket_lifecycle_configuration(Bucket=bucket).get("Rules", [])
    except s3.exceptions.ClientError:
        return False
    return any(r.get("Expiration", {}).get("Days") == days for r in got)


class MultipartUpload:
    """One object written part by part (S3 multipart), so memory holds at most one part.

    Synchronous (boto3): the caller runs each call in a worker thread. ``abort`` removes the
    parts of an upload that will not complete.
    """

    def __init__(self, s3: Any, bucket: str, key: str, content_type: str, filename: str) -> None:
        self._s3, self.bucket, self.key = s3, bucket, key
        created = s3.create_multipart_upload(
            Bucket=bucket,
            Key=key,
            ContentType=content_type,
            ContentDisposition=f'attachment; filename="{filename}"',
        )
        self.upload_id: str = created["UploadId"]
        self._parts: list[dict[str, Any]] = []

    def upload_part(self, body: bytes) -> None:
        number = len(self._parts) + 1
        answer = self._s3.upload_part(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, PartNumber=number, Body=body
        )
        self._parts.append({"PartNumber": number, "ETag": answer["ETag"]})

    def complete(self) -> None:
        self._s3.complete_multipart_upload(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, MultipartUpload={"Parts": self._parts}
        )

    def abort(self) -> None:
        with contextlib.suppress(self._s3.exceptions.ClientError):
            self._s3.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id)


def presign_get(s3: Any, bucket: str, key: str, expires_s: int) -> str:
    url: str = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires_s)
    return url


def delete_object(s3: Any, bucket: str, key: str) -> None:
    s3.delete_object(Bucket=bucket, Key=key)


def object_exists(s3: Any, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except s3.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return True
