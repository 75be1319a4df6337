"""Errors the tool reports to its user: one line, a cause, a next step, exit code 2.

Anything raised as a ValidatorError is the user's input or the environment, never
a bug, so the CLI prints it without a traceback. The errors every part can meet live
here; a subsystem's own ones live in its ``errors`` module (validator.images.errors)
and derive from these, so one ``except ValidatorError`` in cli.guard ends them all.
"""

from __future__ import annotations

from validator import exit_codes

# The old name, kept while validator/cli/validate.py is reworked; new code uses exit_codes.


class ValidatorError(Exception):
    """Base class: a message that quotes the bad value and an optional hint."""

    exit_code: int = exit_codes.TOOL_ERROR

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        return f"{self.message} (hint: {self.hint})" if self.hint else self.message


class InvalidReference(ValidatorError, ValueError):
    """The image reference cannot be parsed."""


class ProfileError(ValidatorError):
    """A profile is unknown or does not match the schema."""


class DockerUnavailable(ValidatorError):
    """The Docker engine cannot be reached."""


class ImageNotFound(ValidatorError):
    """The image is neither local nor obtainable."""


class RegistryError(ValidatorError):
    """The registry refused or failed a request (auth, TLS, not found, unreachable)."""


class CredentialsError(ValidatorError):
    """The credentials are incomplete or cannot be read."""


class RegistryAuthError(RegistryError):
    """The registry refused the login (401) or the user's access (403)."""


class RegistryUnreachable(RegistryError):
    """No connection to the registry."""


class RegistryTLSError(RegistryError):
    """The registry's certificate could not be verified, or it does not speak TLS."""


class PlatformUnavailable(RegistryError):
    """The image index has no manifest for the hub's platform."""


class RegistryMismatch(ValidatorError):
    """--registry and the image reference name different registries."""
