"""Secrets at rest: registry passwords and callback secrets, encrypted with Fernet
(AES-128-CBC + HMAC-SHA256, from ``cryptography``).

The keys come from the environment or a file, never from the database. Several keys
may be given: the first encrypts, every one decrypts. Rotation is: put a new key first,
keep the old ones after it, run ``validate-image-service rotate-keys`` (which re-encrypts
every stored secret with the first key), then drop the old keys.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from validator.registry.credentials import Secret
from validator.service.errors import SecretKeyError


def parse_keys(text: str, *, source: str) -> tuple[Secret, ...]:
    """Keys separated by commas, white space or lines; ``#`` starts a comment in a file."""
    lines = [line.split("#", 1)[0] for line in text.splitlines()]
    keys = tuple(Secret(k) for k in re.split(r"[\s,]+", " ".join(lines)) if k)
    for index, key in enumerate(keys):
        try:
            Fernet(key.reveal())
        except (ValueError, TypeError):
            # The key itself is not quoted: it may be a real key with one character wrong.
            raise SecretKeyError(
                f"key {index + 1} in {source} is not a Fernet key (32 url-safe base64 bytes)",
                hint="make one with `validate-image-service generate-key`",
            ) from None
    return keys


def generate_key() -> str:
    return Fernet.generate_key().decode()


class SecretBox:
    """Encrypts with the first key; decrypts with any. Ciphertexts are ASCII text."""

    def __init__(self, keys: Sequence[Secret]) -> None:
        self._fernet = MultiFernet([Fernet(k.reveal()) for k in keys]) if keys else None

    @property
    def ready(self) -> bool:
        return self._fernet is not None

    def _require(self) -> MultiFernet:
        if self._fernet is None:
            raise SecretKeyError(
                "no encryption key is configured, so secrets cannot be stored or read",
                hint="set JHIV_SERVICE_SECRET_KEYS or JHIV_SERVICE_SECRET_KEYS_FILE "
                "(make a key with `validate-image-service generate-key`)",
            )
        return self._fernet

    def encrypt(self, secret: Secret) -> str:
        return self._require().encrypt(secret.reveal().encode()).decode()

    def decrypt(self, token: str) -> Secret:
        try:
            return Secret(self._require().decrypt(token.encode()).decode())
        except InvalidToken:
            raise SecretKeyError(
                "a stored secret was encrypted with a key that is not configured",
                hint="keep the old key after the new one in JHIV_SERVICE_SECRET_KEYS "
                "until `validate-image-service rotate-keys` has run",
            ) from None

    def rotate(self, token: str) -> str:
        """The same secret encrypted with the first key (decrypting with any)."""
        try:
            return self._require().rotate(token.encode()).decode()
        except InvalidToken:
            raise SecretKeyError(
                "a stored secret fits none of the configured keys; it cannot be rotated",
                hint="add the key it was encrypted with after the new one",
            ) from None
