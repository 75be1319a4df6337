"""What every registry's webhook means once it is normalised: a tag now names a digest.

Registries describe a push in five wire formats; the parsers in ``payloads`` turn each
into :class:`Push` values, and everything that is not the push of a tagged manifest
(a layer upload, a pull, a delete, a scan) into :class:`Ignored`, with the reason.
Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from validator.errors import InvalidReference
from validator.reference import DIGEST_RE, parse_reference, registry_host

# Manifests a hub can spawn: single-image manifests and the indexes that list them.
MANIFEST_TYPES = frozenset(
    {
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
    }
)


class PayloadError(ValueError):
    """The body is not what the receiver's format promises (HTTP 400)."""


@dataclass(frozen=True)
class Push:
    """A tag pushed to a repository; ``digest`` is None when the payload does not say."""

    registry: str
    repository: str
    tag: str
    digest: str | None = None

    @property
    def image(self) -> str:
        return f"{self.registry}/{self.repository}:{self.tag}"


@dataclass(frozen=True)
class Ignored:
    """An event that will not be validated, and why (shown in the webhook's answer)."""

    what: str
    reason: str


@dataclass(frozen=True)
class Parsed:
    pushes: tuple[Push, ...] = ()
    ignored: tuple[Ignored, ...] = ()


def gather(outcomes: Sequence[Push | Ignored]) -> Parsed:
    return Parsed(
        pushes=tuple(o for o in outcomes if isinstance(o, Push)),
        ignored=tuple(o for o in outcomes if isinstance(o, Ignored)),
    )


def mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise PayloadError(f"{where} must be a JSON object, got {_kind(value)}")
    return value


def sequence(value: Any, where: str) -> Sequence[Any]:
    if not isinstance(value, list):
        raise PayloadError(f"{where} must be a JSON array, got {_kind(value)}")
    return value


def text(value: Any, where: str, *, required: bool = False) -> str:
    """A string field; absent or null reads as "" unless ``required``."""
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise PayloadError(f"{where} must be a string, got {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else "a number"
    )


def push(registry: str, repository: str, tag: str, digest: str | None = None) -> Push | Ignored:
    """A checked Push, or Ignored naming what makes it unusable as an image reference."""
    host = registry_host(registry)
    what = f"{host}/{repository}:{tag}"
    if digest is not None and not DIGEST_RE.match(digest):
        return Ignored(what, f"digest {digest!r} is not sha256: and 64 hex digits")
    try:
        ref = parse_reference(f"{host}/{repository}:{tag}")
    except InvalidReference as exc:
        return Ignored(what, exc.message)
    return Push(ref.registry, ref.repository, tag, digest or None)
