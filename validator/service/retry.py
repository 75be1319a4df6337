"""Which failures are worth another try, and when.

A registry that is down, slow or answering 5xx, or an engine that is restarting, may
work in a minute: those are retried with exponential backoff. A refused login, a
missing tag, a TLS failure or a platform the image lacks will not change by waiting:
those fail the job at once, with the validator's message.
"""

from __future__ import annotations

from validator.errors import (
    CredentialsError,
    DockerUnavailable,
    ImageNotFound,
    InvalidReference,
    PlatformUnavailable,
    ProfileError,
    RegistryAuthError,
    RegistryError,
    RegistryMismatch,
    RegistryTLSError,
)

_PERMANENT: tuple[type[BaseException], ...] = (
    RegistryAuthError,
    RegistryTLSError,
    PlatformUnavailable,
    RegistryMismatch,
    ImageNotFound,
    InvalidReference,
    ProfileError,
    CredentialsError,
)
_TRANSIENT: tuple[type[BaseException], ...] = (RegistryError, DockerUnavailable, ConnectionError)


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, _PERMANENT):
        return False
    return isinstance(exc, _TRANSIENT)


def backoff(attempt: int, base: float, cap: float) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1, 2, ...): base * 2^(n-1)."""
    return float(min(cap, base * 2 ** max(0, attempt - 1)))
