"""Docker Hub repository webhooks. The payload names the tag, never the digest, and comes
without a signature: the digest is resolved from the registry before validating."""

from __future__ import annotations

from typing import Any

from validator.reference import DOCKER_HUB
from validator.service.events import Ignored, Parsed, gather, mapping, push, text


def parse(document: Any) -> Parsed:
    body = mapping(document, "the body")
    data = mapping(body.get("push_data"), "'push_data'")
    repo = mapping(body.get("repository"), "'repository'")
    tag = text(data.get("tag"), "push_data.tag")
    name = text(repo.get("repo_name"), "repository.repo_name") or "/".join(
        p for p in (text(repo.get("namespace"), "ns"), text(repo.get("name"), "name")) if p
    )
    if not tag or not name:
        return Parsed(ignored=(Ignored(f"push {name or '?'}", "no tag or repository name"),))
    return gather([push(DOCKER_HUB, name, tag)])
