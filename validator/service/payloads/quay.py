"""Quay (quay.io and Red Hat Quay) repository push notifications. ``updated_tags`` is a
list of tags, or in older payloads a mapping of tag to image id; no digest either way."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from validator.service.events import Ignored, Parsed, gather, mapping, push, text


def parse(document: Any) -> Parsed:
    body = mapping(document, "the body")
    repository = text(body.get("repository"), "'repository'")
    docker_url = text(body.get("docker_url"), "'docker_url'")
    host = docker_url.split("/", 1)[0] if "/" in docker_url else ""
    updated = body.get("updated_tags") or []
    tags = list(updated.keys()) if isinstance(updated, Mapping) else updated
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        return Parsed(ignored=(Ignored(f"push {repository}", "updated_tags is not a tag list"),))
    if not host or not repository or not tags:
        return Parsed(
            ignored=(Ignored(f"push {repository or '?'}", "no registry, repository or tags"),)
        )
    return gather([push(host, repository, tag) for tag in tags])
