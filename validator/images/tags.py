"""Tags of a built image, computed from what is in it. Pure: no Docker here.

Every image built for a hub version gets tags with that version in front
(``hub-5.4.6``, ``hub-5.4.6-python-3.11``, ``hub-5.4.6-2026-11-26``,
``hub-5.4.6-<commit>``). The build for the catalogue's ``default_hub`` also gets the
unprefixed tags (``latest``, ``python-3.11``, the date, the commit): a repository
holds builds for several hubs, and ``latest`` can point at only one of them.
Images without Jupyter (the foundation) get the unprefixed tags and the OS tag.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

COMMIT_LENGTH = 12  # as docker-stacks: long enough to stay unique in a big history


@dataclass(frozen=True)
class TagFacts:
    python_version: str  # "3.11.2"
    date: str  # "2026-11-26", UTC
    commit: str | None  # full git commit of the templates, if known
    os_id: str = ""  # "debian", "ubuntu" (os-release ID)
    os_version: str = ""  # "12", "24.04" (os-release VERSION_ID)


def python_minor(version: str) -> str:
    match = re.match(r"^(\d+)\.(\d+)", version)
    if match is None:
        raise ValueError(f"not a Python version: {version!r}")
    return f"{match.group(1)}.{match.group(2)}"


def _plain(facts: TagFacts) -> list[str]:
    tags = ["latest", f"python-{python_minor(facts.python_version)}", facts.date]
    if facts.commit:
        tags.append(facts.commit[:COMMIT_LENGTH])
    return tags


def tags_for(hub_version: str | None, facts: TagFacts, *, default_hub: str | None) -> list[str]:
    """The tags of one image, most specific last; no duplicates."""
    if hub_version is None:
        tags = _plain(facts)
        if facts.os_id and facts.os_version:
            tags.append(f"{facts.os_id}-{facts.os_version}")
        return _valid(tags)
    hub = f"hub-{hub_version}"
    tags = [hub, f"{hub}-python-{python_minor(facts.python_version)}", f"{hub}-{facts.date}"]
    if facts.commit:
        tags.append(f"{hub}-{facts.commit[:COMMIT_LENGTH]}")
    if hub_version == default_hub:
        tags += _plain(facts)
    return _valid(tags)


_TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


def _valid(tags: list[str]) -> list[str]:
    unique = list(dict.fromkeys(tags))
    bad = [t for t in unique if not _TAG_RE.match(t)]
    if bad:
        raise ValueError(f"not valid Docker tags: {', '.join(map(repr, bad))}")
    return unique
