"""Sealed values: per-person outcome values that must pass through a workflow without being
readable there (Temporal history, queries, the audit log).

Why: the intervention workflow needs the baseline captured before acting to judge the outcome
afterwards, but an approver must never see a person's value. The capture activity seals the
per-person map (AES-GCM, a key derived from the pseudonymisation key, which only workers and
the API hold); the measure activity opens it, compares, and returns group figures only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from typing import Any

_CONTEXT = b"co-outcome-seal-v1"


def _key(secret: bytes) -> bytes:
    return hmac.new(secret, _CONTEXT, hashlib.sha256).digest()


def seal(values: dict[str, Any], secret: bytes) -> str:
    """Encrypt and authenticate ``values`` (JSON) under a key derived from ``secret``."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(12)
    body = AESGCM(_key(secret)).encrypt(nonce, json.dumps(values, sort_keys=True).encode(), _CONTEXT)
    return base64.urlsafe_b64encode(nonce + body).decode()


def unseal(token: str, secret: bytes) -> dict[str, Any]:
    """The sealed map; raises ValueError if the token was altered or sealed under another key."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    raw = base64.urlsafe_b64decode(token.encode())
    try:
        plain = AESGCM(_key(secret)).decrypt(raw[:12], raw[12:], _CONTEXT)
    except InvalidTag as exc:
        raise ValueError("sealed values were altered or sealed under another key") from exc
    value = json.loads(plain)
    if not isinstance(value, dict):
        raise ValueError("sealed values are not a map")
    return value
