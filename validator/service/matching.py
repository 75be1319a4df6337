"""Which watches a push concerns. A watch names a registry, a repository (``team/*``
globs allowed) and a tag pattern (``*`` by default)."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass

from validator.service.events import Push

_PATTERN = re.compile(r"^[a-z0-9*?][a-z0-9._/*?-]*$")
_TAG_PATTERN = re.compile(r"^[A-Za-z0-9_.*?-]{1,128}$")


@dataclass(frozen=True)
class WatchView:
    """The parts of a watch that decide whether a push is its business."""

    id: int
    registry: str
    repository: str
    tags: str
    profile: str


def valid_repository_pattern(pattern: str) -> bool:
    return bool(_PATTERN.match(pattern)) and "//" not in pattern


def valid_tag_pattern(pattern: str) -> bool:
    return bool(_TAG_PATTERN.match(pattern))


def _matches(pattern: str, value: str) -> bool:
    # fnmatchcase: the same answer on every OS; "*" crosses "/" (team/* covers team/a/b).
    return fnmatch.fnmatchcase(value, pattern)


def concerned(watches: Iterable[WatchView], event: Push) -> list[WatchView]:
    """The watches ``event`` matches, one per profile (the first created wins a tie)."""
    found: dict[str, WatchView] = {}
    for watch in sorted(watches, key=lambda w: w.id):
        if (
            watch.registry == event.registry
            and _matches(watch.repository, event.repository)
            and _matches(watch.tags, event.tag)
        ):
            found.setdefault(watch.profile, watch)
    return list(found.values())
