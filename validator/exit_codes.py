"""Every exit code the commands of this package end with, in one place.

The work decides 0 or 1; 2 and 130 say the work could not be done. The same numbers
serve ``validate-image`` (about one image's verdict) and ``build-images`` (0: every image
passed, 1: one failed lint, build or validation), so CI scripts read both alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

COMPATIBLE: Final = 0
"""The image can be spawned (build-images: every image passed)."""

INCOMPATIBLE: Final = 1
"""A check failed: the hub would not spawn the image (build-images: an image failed)."""

TOOL_ERROR: Final = 2
"""The tool could not decide: bad input, Docker or the registry unreachable, a bug."""

USAGE: Final = TOOL_ERROR
"""Bad command-line usage; click uses 2 as well, so both kinds read the same."""

INTERRUPTED: Final = 130
"""SIGINT or SIGTERM (128 + SIGINT, as a shell reports it); the run's objects were removed."""


def worst(codes: Iterable[int]) -> int:
    """Several images' codes as one: a tool error outranks an incompatible image, which
    outranks success (so "could not decide" is never hidden behind a verdict)."""
    seen = list(codes)
    return TOOL_ERROR if TOOL_ERROR in seen else max(seen, default=COMPATIBLE)
