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
from validator.redact import has_userinfo, redact_url

DOCKER_HUB = "docker.io"
# Every name Docker Hub answers to; references on any of them mean the same image.
DOCKER_HUB_ALIASES = frozenset(
    {"index.docker.io", "registry-1.docker.io", "registry.hub.docker.com", "docker.io"}
)
DEFAULT_TAG = "latest"

_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_SCHEME = re.compile(r"^(https?)://", flags=re.IGNORECASE)
DIGEST_RE = re.compile(r"^sha256:[a-f0-9]{64}$")
HOST_RE = re.compile(
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
    # Errors end up in terminals, CI logs and service responses: never with a token.
    return InvalidReference(f"invalid image reference {redact_url(text)!r}: {why}", hint=hint)


def fold_docker_hub(host: str) -> str:
    """Docker Hub's aliases become ``docker.io``; any other host stays as written."""
    return DOCKER_HUB if host.lower() in DOCKER_HUB_ALIASES else host


def registry_host(text: str) -> str:
    """A host as a payload or a form gives it: lower case, no trailing slash, aliases folded."""
    return fold_docker_hub(text.strip().lower().rstrip("/"))


def is_registry_host(first: str) -> bool:
    """Docker's rule: the first path part is a host when it could not be a Hub namespace."""
    return "." in first or ":" in first or first == "localhost" or first.startswith("[")


def split_registry(path: str) -> tuple[str | None, str]:
    """``host[:port]/rest`` -> (host, rest); (None, path) when the first part is no host."""
    first, sep, remainder = path.partition("/")
    if sep and is_registry_host(first):
        return first, remainder
    return None, path


def _strip_scheme(original: str, text: str) -> tuple[str | None, str]:
    match = _SCHEME.match(text)
    if not match:
        return None, text
    text = text[match.end() :].rstrip("/")
    if "/" not in text:
        raise _fail(original, "a URL must name an image after the registry host")
    return match.group(1).lower(), text


def _split_digest(original: str, text: str) -> tuple[str, str | None]:
    if "@" not in text:
        return text, None
    text, _, digest = text.partition("@")
    if not DIGEST_RE.match(digest):
        raise _fail(original, f"digest {digest!r} is not sha256: and 64 hex digits")
    return text, digest


def _split_tag(original: str, path: str) -> tuple[str, str | None]:
    colon = path.rfind(":")
    if colon <= path.rfind("/"):
        return path, None
    path, tag = path[:colon], path[colon + 1 :]
    if not _TAG.match(tag):
        raise _fail(original, f"tag {tag!r} is not valid (letters, digits, _ . -; max 128)")
    return path, tag


def _check_registry(original: str, registry: str | None) -> str:
    if registry is None:
        return DOCKER_HUB
    if not HOST_RE.match(registry):
        raise _fail(original, f"registry host {registry!r} is not valid")
    return fold_docker_hub(registry)


def _check_path(original: str, registry: str, path: str) -> str:
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
    return path


def parse_reference(text: str) -> ImageRef:
    """Parse what a user typed; raise InvalidReference with the reason otherwise."""
    original = text
    text = text.strip()
    if not text:
        raise _fail(original, "it is empty", hint="give an image such as jupyter/base-notebook")
    if has_userinfo(text):
        # Pasted from a browser's address bar or a git remote: the '@' would otherwise
        # be read as a digest and the error would quote the token back.
        raise _fail(
            original,
            "it contains a user name or token before '@'",
            hint="give the registry login separately (validate-image: --username and"
            " --password-stdin), never inside the image reference",
        )
    scheme, text = _strip_scheme(original, text)
    if any(c.isspace() for c in text):
        raise _fail(original, "it contains white space")
    text, digest = _split_digest(original, text)
    registry, path = split_registry(text)
    if registry is None and scheme is not None:
        raise _fail(original, "a URL must start with a registry host")
    path, tag = _split_tag(original, path)
    host = _check_registry(original, registry)
    path = _check_path(original, host, path)
    if tag is None and digest is None:
        tag = DEFAULT_TAG
    return ImageRef(registry=host, repository=path, tag=tag, digest=digest, scheme=scheme)


@dataclass(frozen=True)
class ImageQuery:
    """What a results query names: a repository, maybe narrowed to a tag or a digest.

    Unlike an ImageRef, no tag means "any tag", not ``latest``.
    """

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None


def parse_query(text: str) -> ImageQuery:
    """``host/repo``, ``host/repo:tag`` or ``host/repo@sha256:...``; no host means Docker Hub.

    The host is folded as registry_host does, so a query finds what a push stored.
    """
    name, _, digest = text.strip().partition("@")
    if digest and not DIGEST_RE.match(digest):
        raise InvalidReference(f"digest {digest!r} is not sha256: and 64 hex digits")
    registry, path = split_registry(name)
    colon, slash = path.rfind(":"), path.rfind("/")
    tag = path[colon + 1 :] if colon > slash else None
    path = path[:colon] if colon > slash else path
    ref = parse_reference(f"{registry_host(registry or DOCKER_HUB)}/{path}:{tag or DEFAULT_TAG}")
    return ImageQuery(ref.registry, ref.repository, tag, digest or None)


def split_url(url: str) -> tuple[str, str]:
    """A registry's URL of an image (``[https://]host/path/name[:tag][@digest]``) -> (host, path).

    Registries' payloads always put the host first, so no Docker Hub default applies; the
    tag and digest are dropped because the payload gives them in fields of their own.
    """
    name = url.strip()
    for scheme in ("https://", "http://"):
        name = name.removeprefix(scheme)
    name = name.split("@", 1)[0]
    host, _, path = name.partition("/")
    head, slash, last = path.rpartition("/")
    return host, head + slash + last.partition(":")[0]
