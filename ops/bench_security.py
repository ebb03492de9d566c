"""`task bench:security`: what the security controls cost.

- audit appends/s with the keyed chain (8 concurrent writers; every fourth row carries a
  personal payload stored outside the chain) and verify rows/s, against 2,000 rows and 10
  S3 anchors, in a scratch database (dropped afterwards);
- the k-anonymity release over a 1,000-team organisation (ms);
- an Ed25519 decision signature and its verification (µs).
Prints ONE JSON object on its last line. Figures on the shared 2-core machine move with load.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid

from shared.adapters.audit_anchors import anchor_client, read_anchors, write_anchor
from shared.adapters.postgres import audit, audit_chain
from shared.adapters.postgres.databases import scratch_database
from shared.domain.decisions import decision_message, sign, signature_problem
from shared.domain.privacy import k_anonymous_release
from shared.platform.resources import Needs, open_resources
from shared.platform.settings import load_settings


async def bench_audit() -> dict[str, float]:
    base = load_settings()
    name = f"co_bench_security_{uuid.uuid4().hex[:8]}"
    async with scratch_database(base.postgres.dsn.get_secret_value(), name) as dsn:
        settings = base.replace(**{"pg_dsn": type(base.postgres.dsn)(dsn), "audit_anchor_prefix": f"bench/{name}"})
        async with open_resources(settings, Needs(pg=True)) as res:
            store = audit.AuditStore(res.pg, settings.audit.key)
            writers, per_writer = 8, 250

            async def writer(w: int) -> None:
                for i in range(per_writer):
                    personal = {"people": [f"p_{w:02d}{i:030d}"]} if i % 4 == 0 else None
                    await store.append(
                        event_key=f"bench:{w}:{i}", intervention_id=f"bench-{w}", event="step", actor="bench",
                        details={"w": w, "i": i, "note": "x" * 64}, personal=personal,
                        subjects=personal["people"] if personal else (),
                    )  # fmt: skip

            started = time.perf_counter()
            await asyncio.gather(*(writer(w) for w in range(writers)))
            append_s = time.perf_counter() - started
            s3 = anchor_client(settings)
            rows = await store.query(limit=5000)
            bucket, prefix = settings.audit.anchor_bucket, settings.audit.anchor_prefix
            for row in rows[:: len(rows) // 10][:10]:  # ten anchored heads along the chain
                anchor = audit_chain.Anchor(row.id, row.row_hash)
                await asyncio.to_thread(write_anchor, s3, bucket, prefix, anchor, row.occurred_at.isoformat())
            anchors = await asyncio.to_thread(read_anchors, s3, bucket, prefix)
            started = time.perf_counter()
            report = await store.verify(anchors=anchors)
            verify_s = time.perf_counter() - started
            assert report.ok and report.rows == writers * per_writer and report.anchors_checked == 10, report
    return {
        "audit_append_rows_per_s_8_writers": round(writers * per_writer / append_s, 1),
        "audit_verify_rows_per_s_with_10_anchors": round(report.rows / verify_s, 1),
    }


def bench_release() -> dict[str, float]:
    rng = random.Random(7)
    sizes = {f"team-{i}": rng.randint(1, 40) for i in range(1000)}
    started = time.perf_counter()
    for _ in range(20):
        k_anonymous_release(sizes, 5, unassigned=3, last_shown={t: [n] for t, n in sizes.items()})
    return {"k_anonymity_release_1000_teams_ms": round((time.perf_counter() - started) / 20 * 1000, 3)}


def bench_signatures() -> dict[str, float]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    message = decision_message(
        update="decide", intervention_id="x", approve=True, actor="a", roles=["approver"], reason="r", nonce="n",
        issued_at="2026-01-01T00:00:00+00:00",
    )  # fmt: skip
    n = 500
    started = time.perf_counter()
    signatures = [sign(pem, message) for _ in range(n)]
    sign_us = (time.perf_counter() - started) / n * 1e6
    started = time.perf_counter()
    assert all(signature_problem(public.decode(), message, s) is None for s in signatures)
    verify_us = (time.perf_counter() - started) / n * 1e6
    return {"decision_sign_us": round(sign_us, 1), "decision_verify_us": round(verify_us, 1)}


def main() -> None:
    figures: dict[str, float] = {}
    figures.update(asyncio.run(bench_audit()))
    figures.update(bench_release())
    figures.update(bench_signatures())
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
