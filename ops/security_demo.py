"""Demo stage: the security controls on the running stack (docs/security.md).

Anchors the audit chain's head in S3 with the anchor identity, verifies the chain against
every anchor, and shows that the application's own S3 identity cannot overwrite an anchor.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from botocore.exceptions import ClientError

from shared.adapters.objects import build_s3
from shared.platform.resources import Resources
from shared.services.audit import run_anchor


async def demo_stage(resources: Resources, out: Callable[[str], None]) -> None:
    settings = resources.settings
    try:
        anchored = await run_anchor(settings)
    except ClientError as exc:  # an S3 server started before the anchor identity existed
        out(f"audit anchor skipped ({exc.response['Error']['Code']}): restart S3 with `./dev down s3 && ./dev up`")
        return
    report = anchored.verify
    out(
        f"audit chain: ok={report.ok}, {report.rows} rows, {report.anchors_checked} anchored heads checked, "
        f"{report.personal_erased} personal records erased"
    )
    if anchored.head is None:
        out(f"nothing anchored ({anchored.reason or 'chain does not verify'})")
        return
    out(f"head #{anchored.head.id} {anchored.head.row_hash[:16]}... anchored in s3://{settings.audit.anchor_bucket}")
    key = f"{settings.audit.anchor_prefix}/{anchored.head.id:020d}.json"
    try:
        await asyncio.to_thread(build_s3(settings).put_object, Bucket=settings.audit.anchor_bucket, Key=key, Body=b"{}")
        out("WARNING: the application's S3 identity could overwrite an anchor")
    except ClientError as exc:
        out(f"the application's S3 identity cannot overwrite it: {exc.response['Error']['Code']}")
