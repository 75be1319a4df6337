"""Image references in every form users type, normalised to one canonical string.

Accepted: ``name``, ``owner/name``, ``host[:port]/path/name[:tag][@sha256:...]`` and the
URL form of the Jupyter4NFDI spawn form, ``https://registry.example.com/img:latest``.
The canonical form always names the registry and a tag or digest:
``docker.io/library/ubuntu:24.04``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from validator.errors import InvalidReference

DOCKER_HUB = "docker.io"
_HUB_ALIASES = {"index.docker.io", "registry-1.docker.io", "registry.hub.docker.com", "docker.io"}
DEFAULT_TAG = "latest"

_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")
_HOST = re.compile(
    r"^(?:localhost|\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*)(?::[0-9]{1,5})?$"
)
_MAX_NAME = 255


@dataclass(frozen=True)
class ImageRef:
    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None
    # The user wrote http://: the registry speaks plain HTTP (only with --insecure-registry).
    scheme: str | None = None

    @property
    def name(self) -> str:
        """registry/repository, without tag or digest."""
        return f"{self.registry}/{self.repository}"

    @property
    def canonical(self) -> str:
        out = self.name
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out

    @property
    def familiar(self) -> str:
        """The short form Docker prints (``ubuntu:24.04``, ``host:5000/team/img:tag``)."""
        name = self.repository
        if self.registry != DOCKER_HUB:
            name = f"{self.registry}/{name}"
        elif name.startswith("library/"):
            name = name.removeprefix("library/")
        if self.tag:
            name += f":{self.tag}"
        if self.digest:
            name += f"@{self.digest}"
        return name

    @property
    def is_docker_hub(self) -> bool:
        return self.registry == DOCKER_HUB

    def __str__(self) -> str:
        return self.canonical


def _fail(text: str, why: str, hint: str | None = None) -> InvalidReference:
    return InvalidReference(f"invalid image reference {text!r}: {why}", hint=hint)


def _split_registry(rest: str) -> tuple[str | None, str]:
    first, sep, remainder = rest.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first.startswith("[")):
        return first, remainder
    return None, rest


def parse_reference(text: str) -> ImageRef:
    """Parse what a user typed; raise InvalidReference with the reason otherwise."""
    original = text
    text = text.strip()
    if not text:
        raise _fail(original, "it is empty", hint="give an image such as jupyter/base-notebook")
    scheme = None
    match = re.match(r"^(https?)://", text, flags=re.IGNORECASE)
    if match:
        scheme = match.group(1).lower()
        text = text[match.end() :].rstrip("/")
        if "/" not in text:
            raise _fail(original, "a URL must name an image after the registry host")
    if any(c.isspace() for c in text):
        raise _fail(original, "it contains white space")

    digest = None
    if "@" in text:
        text, _, digest = text.partition("@")
        if not _DIGEST.match(digest):
            raise _fail(original, f"digest {digest!r} is not sha256: and 64 hex digits")

    registry, path = _split_registry(text)
    if registry is None and scheme is not None:
        raise _fail(original, "a URL must start with a registry host")

    tag = None
    last_slash = path.rfind("/")
    colon = path.rfind(":")
    if colon > last_slash:
        path, tag = path[:colon], path[colon + 1 :]
        if not _TAG.match(tag):
            raise _fail(original, f"tag {tag!r} is not valid (letters, digits, _ . -; max 128)")

    if registry is not None:
        if not _HOST.match(registry):
            raise _fail(original, f"registry host {registry!r} is not valid")
        if registry.lower() in _HUB_ALIASES:
            registry = DOCKER_HUB
    else:
        registry = DOCKER_HUB

    if not path:
        raise _fail(original, "no repository name")
    components = path.split("/")
    for comp in components:
        if not _COMPONENT.match(comp):
            if comp.lower() != comp and _COMPONENT.match(comp.lower()):
                raise _fail(
                    original,
                    f"{comp!r} has upper-case letters",
                    hint="repository names are lower case",
                )
            raise _fail(original, f"path component {comp!r} is not valid")
    if registry == DOCKER_HUB and len(components) == 1:
        path = f"library/{path}"
    if len(f"{registry}/{path}") > _MAX_NAME:
        raise _fail(original, f"the name is longer than {_MAX_NAME} characters")

    if tag is None and digest is None:
        tag = DEFAULT_TAG
    return ImageRef(registry=registry, repository=path, tag=tag, digest=digest, scheme=scheme)
