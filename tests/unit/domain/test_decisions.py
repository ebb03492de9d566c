"""Signed approval decisions (shared/domain/decisions.py): only the API's signature over the exact
decision is accepted; any changed field, another key or a garbled signature is refused."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.domain.decisions import decision_message, sign, signature_problem

DECISION: dict[str, Any] = {
    "update": "decide",
    "intervention_id": "iv-1",
    "approve": True,
    "actor": "approver-7",
    "roles": ["approver", "viewer"],
    "reason": "looks safe",
    "nonce": "n-1",
    "issued_at": "2026-03-02T10:00:00Z",
}


def _keypair() -> tuple[bytes, str]:
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public.decode()


def test_the_signed_decision_verifies_and_roles_order_does_not_matter() -> None:
    private, public = _keypair()
    signature = sign(private, decision_message(**DECISION))
    assert signature_problem(public, decision_message(**DECISION), signature) is None
    reordered = decision_message(**(DECISION | {"roles": ["viewer", "approver"]}))
    assert signature_problem(public, reordered, signature) is None


@pytest.mark.parametrize(
    "change",
    [
        {"approve": False},
        {"approve": None},
        {"intervention_id": "iv-2"},  # replaying a decision on another intervention
        {"actor": "viewer-1"},
        {"roles": ["admin", "approver", "viewer"]},  # claiming a role the token did not have
        {"reason": "looks safe "},
        {"nonce": "n-2"},
        {"update": "cancel"},
        {"issued_at": "2026-03-02T10:00:01Z"},
    ],
)
def test_any_changed_field_is_refused(change: dict[str, Any]) -> None:
    private, public = _keypair()
    signature = sign(private, decision_message(**DECISION))
    assert signature_problem(public, decision_message(**(DECISION | change)), signature) == (
        "the decision is not signed by the interventions API"
    )


def test_field_boundaries_cannot_be_shifted() -> None:
    """Moving text from one field to the next changes the canonical bytes (sorted-key JSON)."""
    a = decision_message(**(DECISION | {"actor": "ab", "reason": "c"}))
    b = decision_message(**(DECISION | {"actor": "a", "reason": "bc"}))
    assert a != b


def test_another_key_garbage_and_wrong_key_types_are_refused() -> None:
    private, public = _keypair()
    _, other_public = _keypair()
    message = decision_message(**DECISION)
    signature = sign(private, message)
    assert signature_problem(other_public, message, signature) == "the decision is not signed by the interventions API"
    assert signature_problem(public, message, "not base64!") == "the decision is not signed by the interventions API"
    assert signature_problem(public, message, base64.b64encode(b"x" * 64).decode()) is not None
    assert signature_problem("-----BEGIN PUBLIC KEY-----\nnope", message, signature) == (
        "the workflow's decision key is unreadable"
    )
    ec_public = (
        generate_private_key(SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    assert signature_problem(ec_public.decode(), message, signature) == "the workflow's decision key is not Ed25519"


def test_signing_refuses_a_key_that_is_not_ed25519() -> None:
    ec_private = generate_private_key(SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(ValueError, match="must be an Ed25519 private key"):
        sign(ec_private, b"message")
