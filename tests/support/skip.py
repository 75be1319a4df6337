"""How a test says that something it needs is not on this machine."""

from __future__ import annotations

import os

import pytest

__all__ = ["unavailable"]


def unavailable(reason: str) -> None:
    """Skip the test; fail it under JHIV_REQUIRE_DOCKER=1 (scripts/test.sh and CI), where
    a missing engine, image or tool is a broken setup rather than a choice."""
    if os.environ.get("JHIV_REQUIRE_DOCKER") == "1":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)
