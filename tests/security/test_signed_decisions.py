"""Issue 11, item 7: a decision sent straight to Temporal with roles=["approver"] is refused.

On the time-skipping Temporal test server with the real worker and simulator (fixtures from
tests/interventions): the workflow input carries the API's Ed25519 public key; an update that
only *claims* the approver role, one signed with another key, one whose fields were altered
after signing, one signed for another intervention and a replayed one are all refused by the
update validator, and nothing is applied; the API-signed decision goes through. Plus the
Temporal client settings for mTLS and an API key.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import TLSConfig
from temporalio.testing import WorkflowEnvironment

from shared.adapters.temporal_client import tls_config
from shared.domain.interventions import InterventionType
from shared.platform.settings import Settings
from shared.services.interventions import signed
from tests.interventions.conftest import (  # noqa: F401 - fixtures
    activities,
    counts,
    iv_settings,
    proposal,
    sim,
    simulator_url,
    start,
    time_env,
    ts_worker,
    wait_status,
)
from workflows.intervention.contract import Decision


def _other_key(tmp_path: Path) -> Path:
    key = Ed25519PrivateKey.generate()
    path = tmp_path / "other.pem"
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return path


async def test_only_decisions_signed_by_the_api_are_accepted(
    time_env: WorkflowEnvironment,  # noqa: F811
    ts_worker: str,  # noqa: F811
    iv_settings: Settings,  # noqa: F811
    sim: httpx.AsyncClient,  # noqa: F811
    tmp_path: Path,
) -> None:
    assert iv_settings.interventions.decision_public_key_file is not None, "the stack provides the decision key pair"
    p = proposal(InterventionType.MANAGER_NUDGE, 1)
    handle = await start(time_env.client, ts_worker, iv_settings, p, monitoring_window_s=60, rollback_window_s=0)
    await wait_status(handle, "awaiting_approval")
    who: dict[str, Any] = {"actor": "mallory", "roles": ["approver"], "reason": "trust me"}
    good: Decision = signed("decide", p.intervention_id, iv_settings, approve=True, **who)
    forged_key = iv_settings.replace(**{"decision_signing_key_file": _other_key(tmp_path)})
    attempts = {
        "unsigned, roles claimed": Decision(True, "mallory", ["approver"], "trust me", p.intervention_id),
        "signed by another key": signed("decide", p.intervention_id, forged_key, approve=True, **who),
        "altered after signing": dataclasses.replace(good, actor="approver-bob"),
        "reject turned into approve": dataclasses.replace(
            signed("decide", p.intervention_id, iv_settings, approve=False, **who), approve=True
        ),
        "signed for another intervention": signed("decide", "another-one", iv_settings, approve=True, **who),
        # one payload serves both updates: a signed rollback request cannot pass as a decision
        "a rollback request sent as a decision": signed("rollback", p.intervention_id, iv_settings, **who),
    }
    for name, attempt in attempts.items():
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update("decide", attempt)
        assert "another intervention" in str(refused.value.cause) or "signed" in str(refused.value.cause), name
    assert (await handle.query("snapshot"))["status"] == "awaiting_approval"
    assert (await counts(sim, p))["applied"] == 0

    snap = await handle.execute_update("decide", good)  # what the API sends after verifying the JWT
    assert snap["decision"]["actor"] == "mallory"
    with pytest.raises(WorkflowUpdateFailedError):  # the same signed decision cannot be replayed
        await handle.execute_update("decide", good)
    assert (await handle.result())["status"] == "completed"


def test_temporal_client_supports_mtls_and_an_api_key(tmp_path: Path) -> None:
    for name in ("cert.pem", "key.pem", "ca.pem"):
        (tmp_path / name).write_bytes(b"-----BEGIN X-----\n" + name.encode() + b"\n-----END X-----\n")
    base = Settings()
    assert tls_config(base) is False  # local dev server: plain
    mtls = tls_config(
        base.replace(
            **{
                "temporal_tls_cert_file": tmp_path / "cert.pem",
                "temporal_tls_key_file": tmp_path / "key.pem",
                "temporal_tls_ca_file": tmp_path / "ca.pem",
                "temporal_tls_server_name": "temporal.internal",
            }
        )
    )
    assert isinstance(mtls, TLSConfig)
    assert mtls.client_cert is not None and b"cert.pem" in mtls.client_cert
    assert mtls.client_private_key is not None and b"key.pem" in mtls.client_private_key
    assert mtls.domain == "temporal.internal"
    from pydantic import SecretStr

    assert tls_config(base.replace(**{"temporal_api_key": SecretStr("k")})) is True  # never in clear
