"""Signed approval decisions: the workflow trusts a decision only if the API signed it.

Any process that can reach Temporal can send an update, so roles claimed inside the update
prove nothing. The interventions API, having verified the caller's JWT, signs the decision
(Ed25519) over its canonical encoding: which update, the intervention id, approve or not, the
verified subject and roles, the reason, a random nonce and the time. The public key travels in
the workflow input, and the update validator checks the signature and the intervention id
before anything else (and refuses a nonce it has seen). Workflow time may run ahead of the
wall clock (time-skipping tests), so the time is recorded, not used to refuse. Pure functions
(the workflow sandbox runs the verification).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


def _warm_up() -> None:
    """Load, sign and verify once at import. cryptography's Rust core imports some Python classes
    lazily on first use; inside Temporal's workflow sandbox that import would re-initialise the
    extension and abort the process. The workflow imports this module passed through the
    sandbox, so doing the first use here, outside it, keeps the validator's calls import-free."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    good = sign(pem, b"warm-up")
    assert signature_problem(public.decode(), b"warm-up", good) is None
    assert signature_problem(public.decode(), b"tampered", good) is not None  # the InvalidSignature path
    assert signature_problem("not a key", b"warm-up", good) is not None  # the unreadable-key path


def decision_message(
    *,
    update: str,
    intervention_id: str,
    approve: bool | None,
    actor: str,
    roles: Sequence[str],
    reason: str,
    nonce: str,
    issued_at: str,
) -> bytes:
    """The canonical bytes that are signed (sorted-key JSON, so field boundaries are unambiguous)."""
    body = {
        "update": update,
        "intervention_id": intervention_id,
        "approve": approve,
        "actor": actor,
        "roles": sorted(roles),
        "reason": reason,
        "nonce": nonce,
        "issued_at": issued_at,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def sign(private_key_pem: bytes, message: bytes) -> str:
    key = serialization.load_pem_private_key(private_key_pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the decision signing key must be an Ed25519 private key")
    return base64.b64encode(key.sign(message)).decode()


def signature_problem(public_key_pem: str, message: bytes, signature: str) -> str | None:
    """None when ``signature`` is the key's signature of ``message``, else why not."""
    try:
        key = serialization.load_pem_public_key(public_key_pem.encode())
    except ValueError:
        return "the workflow's decision key is unreadable"
    if not isinstance(key, Ed25519PublicKey):
        return "the workflow's decision key is not Ed25519"
    try:
        key.verify(base64.b64decode(signature, validate=True), message)
    except (InvalidSignature, ValueError):
        return "the decision is not signed by the interventions API"
    return None


_warm_up()
