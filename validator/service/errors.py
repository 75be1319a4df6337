"""Every error the service reports to its operator: one line, a hint, exit code 2.

The core errors (registry, Docker, references) stay in ``validator.errors``; these are
the service's own, kept in one place so a command or a route can tell them apart.
"""

from __future__ import annotations

from validator.errors import ValidatorError


class SettingsError(ValidatorError):
    """A setting is missing or malformed."""


class SecretKeyError(ValidatorError):
    """The encryption keys are missing, malformed, or none of them fits a stored secret."""
