"""Who may talk to the service: static header tokens, HMAC signatures, URL tokens.

Every comparison goes through ``hmac.compare_digest`` on bytes, so the time an answer
takes says nothing about how much of a guess was right. Nothing here logs.
"""

from __future__ import annotations

import hashlib
import hmac
from enum import Enum

SIGNATURE_PREFIX = "sha256="
# Schemes a registry's static header may put before the token: Harbor sends its "Auth
# Header" verbatim, distribution the configured header, so both "Bearer T" and "T" occur.
_SCHEMES = ("bearer ", "token ")


class Check(str, Enum):
    OK = "ok"
    MISSING = "missing"  # HTTP 401: say how to authenticate
    WRONG = "wrong"  # HTTP 403: credentials given, and refused


def same(given: str, expected: str) -> bool:
    """Constant-time equality of two secrets (a length difference shows, nothing else)."""
    return hmac.compare_digest(given.encode(), expected.encode())


def header_token(header: str | None, expected: str) -> Check:
    """An ``Authorization`` header that holds ``expected``, bare or after Bearer/Token."""
    if not header or not header.strip():
        return Check.MISSING
    value = header.strip()
    lowered = value.lower()
    for scheme in _SCHEMES:
        if lowered.startswith(scheme):
            value = value[len(scheme) :].strip()
            break
    return Check.OK if same(value, expected) else Check.WRONG


def bearer(header: str | None, expected: str) -> Check:
    """``Authorization: Bearer <expected>`` and nothing else (the admin API)."""
    if not header or not header.strip():
        return Check.MISSING
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return Check.WRONG
    return Check.OK if same(value.strip(), expected) else Check.WRONG


def sign(secret: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of the raw body, as GitHub signs its deliveries."""
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature(header: str | None, secret: str, body: bytes) -> Check:
    """Check ``X-Hub-Signature-256`` against the raw bytes received (never re-serialised)."""
    if not header or not header.strip():
        return Check.MISSING
    return Check.OK if same(header.strip(), sign(secret, body)) else Check.WRONG
