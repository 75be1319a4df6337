"""GitHub Packages webhooks: ``registry_package`` (repository and organisation hooks) and
``package`` events for container images on ghcr.io.

A multi-platform push sends one event per manifest; only the one that carries the tag
(the index) names an image a hub could be given.
"""

from __future__ import annotations

from typing import Any

from validator.reference import split_url
from validator.service.events import (
    Ignored,
    Parsed,
    gather,
    mapping,
    push,
    text,
)

EVENTS = {"registry_package", "package"}
ACTIONS = {"published", "updated"}


def parse(event_name: str, document: Any) -> Parsed:
    """``event_name`` is the X-GitHub-Event header."""
    body = mapping(document, "the body")
    action = text(body.get("action"), "'action'")
    if event_name not in EVENTS:
        return _ignored(f"{event_name or 'event'}", f"a {event_name!r} event is not a package push")
    package = mapping(body.get("registry_package") or body.get("package"), "'registry_package'")
    name = text(package.get("name"), "registry_package.name")
    if action not in ACTIONS:
        return _ignored(f"{action} {name}", f"action {action!r} is not a push")
    kind = text(package.get("package_type"), "registry_package.package_type")
    if kind.lower() != "container":
        return _ignored(f"{action} {name}", f"package type {kind!r} is not a container image")
    version = mapping(package.get("package_version"), "registry_package.package_version")
    metadata = mapping(version.get("container_metadata") or {}, "container_metadata")
    tag_info = mapping(metadata.get("tag") or {}, "container_metadata.tag")
    tag = text(tag_info.get("name"), "container_metadata.tag.name")
    digest = text(tag_info.get("digest"), "container_metadata.tag.digest")
    if not digest:
        # The version of a container package is its manifest digest.
        candidate = text(version.get("version"), "package_version.version")
        digest = candidate if candidate.startswith("sha256:") else ""
    url = text(version.get("package_url"), "package_version.package_url")
    host, repository = split_url(url)
    what = f"{action} {host}/{repository}" + (f":{tag}" if tag else "")
    if not tag:
        return _ignored(what, "one manifest of a multi-platform push, without a tag")
    if not host or not repository:
        return _ignored(what, "package_url names no registry host or repository")
    # ghcr.io serves owners in lower case whatever their GitHub spelling.
    return gather([push(host, repository.lower(), tag, digest or None)])


def _ignored(what: str, reason: str) -> Parsed:
    return Parsed(ignored=(Ignored(what, reason),))
