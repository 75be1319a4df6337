"""Rendezvous (highest random weight) hashing: which live worker a digest goes to.

Every worker gets a score for the key; the highest wins. When a worker leaves, only the
keys it won move (each to its runner-up); the others stay where their pulled layers
are. BinderHub places builds of one repository on one node the same way
(``binderhub/utils.py`` ``rendezvous_rank``). Pure functions, no I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


def score(node: str, key: str) -> int:
    """A stable pseudo-random weight of ``node`` for ``key`` (the same on every host)."""
    digest = hashlib.sha256(f"{node}\x00{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def rank(nodes: Iterable[str], key: str) -> list[str]:
    """``nodes`` best first for ``key``; ties (never in practice) broken by name."""
    return sorted(set(nodes), key=lambda node: (-score(node, key), node))


def pick(nodes: Iterable[str], key: str) -> str | None:
    """The node ``key`` belongs to, or None when there is none."""
    ranked = rank(nodes, key)
    return ranked[0] if ranked else None
