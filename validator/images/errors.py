"""The errors of the base-image pipeline (``build-images``), on top of validator.errors.

Each is a ValidatorError, so the command ends through the same guard: one line and the
exit code the class names.
"""

from __future__ import annotations

from collections.abc import Iterable

from validator import exit_codes
from validator.errors import ValidatorError


class CatalogueError(ValidatorError):
    """The catalogue does not match its schema, or its images do not fit together."""


class HadolintMissing(ValidatorError):
    """No hadolint binary where pip would have put it, nor on PATH."""


class LintFailed(ValidatorError):
    """hadolint rejected a rendered Dockerfile; nothing was built."""

    exit_code = exit_codes.INCOMPATIBLE


class BuildFailed(ValidatorError):
    """The engine refused or failed the build; the message ends with the log tail."""

    # An image that does not build is a failed image (as LintFailed), not a tool error.
    exit_code = exit_codes.INCOMPATIBLE

    def __init__(self, key: str, reason: str, tail: Iterable[str]) -> None:
        lines = "\n".join(f"    {line}" for line in tail) or "    (no build output)"
        super().__init__(f"building {key} failed: {reason}\n  last build output:\n{lines}")
        self.key = key
        self.reason = reason
