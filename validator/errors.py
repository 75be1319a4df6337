"""Errors the tool reports to its user: one line, a cause, a next step, exit code 2.

Anything raised as a ValidatorError is the user's input or the environment, never
a bug, so the CLI prints it without a traceback.
"""

from __future__ import annotations

USAGE_OR_TOOL_ERROR = 2


class ValidatorError(Exception):
    """Base class: a message that quotes the bad value and an optional hint."""

    exit_code = USAGE_OR_TOOL_ERROR

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


class Interrupted(ValidatorError):
    """The run was stopped by SIGINT or SIGTERM; everything it created was removed."""

    exit_code = 130
