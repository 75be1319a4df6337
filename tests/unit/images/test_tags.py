"""Tags computed from the image's facts."""

from __future__ import annotations

import pytest

from validator.images.tags import TagFacts, python_minor, tags_for

FACTS = TagFacts(
    python_version="3.11.2",
    date="2026-11-26",
    commit="0123456789abcdef0123",
    os_id="debian",
    os_version="12",
)


def test_default_hub_gets_the_plain_tags_too() -> None:
    assert tags_for("5.4.6", FACTS, default_hub="5.4.6") == [
        "hub-5.4.6",
        "hub-5.4.6-python-3.11",
        "hub-5.4.6-2026-11-26",
        "hub-5.4.6-0123456789ab",
        "latest",
        "python-3.11",
        "2026-11-26",
        "0123456789ab",
    ]


def test_other_hubs_only_get_prefixed_tags() -> None:
    tags = tags_for("4.1.6", FACTS, default_hub="5.4.6")
    assert "latest" not in tags
    assert all(t.startswith("hub-4.1.6") for t in tags)


def test_foundation_gets_the_os_tag() -> None:
    tags = tags_for(None, FACTS, default_hub=None)
    assert tags[0] == "latest" and "debian-12" in tags and "python-3.11" in tags


def test_no_commit_outside_git() -> None:
    facts = TagFacts(python_version="3.12.3", date="2026-11-26", commit=None)
    assert tags_for(None, facts, default_hub=None) == ["latest", "python-3.12", "2026-11-26"]


def test_python_minor_rejects_nonsense() -> None:
    assert python_minor("3.12.0rc1") == "3.12"
    with pytest.raises(ValueError, match="not a Python version"):
        python_minor("three")
