"""make-compatible's own errors: tool errors exit 2 like every ValidatorError."""

from __future__ import annotations

from validator.errors import ValidatorError


class InspectionFailed(ValidatorError):
    """The inspection container could not run or said nothing we can read."""
