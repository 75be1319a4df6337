"""Harbor webhooks, in its default format (``PUSH_ARTIFACT``) and as CloudEvents
(``harbor.artifact.pushed``, Harbor 2.8 and later).

One event lists every tag of the artifact pushed. A push by digest carries the digest
(or nothing) as its tag.
"""

from __future__ import annotations

from typing import Any

from validator.reference import split_url
from validator.service.events import (
    Ignored,
    Parsed,
    Push,
    gather,
    mapping,
    push,
    sequence,
    text,
)

PUSHED = {"PUSH_ARTIFACT", "harbor.artifact.pushed"}


def parse(document: Any) -> Parsed:
    body = mapping(document, "the body")
    cloud = "specversion" in body
    kind = text(body.get("type"), "'type'", required=True)
    data = mapping(
        body.get("data" if cloud else "event_data"), "'data'" if cloud else "'event_data'"
    )
    repo = mapping(data.get("repository") or {}, "repository")
    repository = text(repo.get("repo_full_name"), "repository.repo_full_name") or "/".join(
        p for p in (text(repo.get("namespace"), "ns"), text(repo.get("name"), "name")) if p
    )
    resources = sequence(data.get("resources") or [], "resources")
    if kind not in PUSHED:
        return Parsed(ignored=(Ignored(f"{kind} {repository or '?'}", f"{kind} is not a push"),))
    return gather(
        [_resource(mapping(r, f"resources[{i}]"), repository) for i, r in enumerate(resources)]
    )


def _resource(resource: Any, repository: str) -> Push | Ignored:
    tag = text(resource.get("tag"), "resources[].tag")
    digest = text(resource.get("digest"), "resources[].digest") or None
    url = text(resource.get("resource_url"), "resources[].resource_url")
    host, path = split_url(url)
    what = f"push {repository or path}:{tag}" if tag else f"push {repository or path}"
    if not tag or tag == digest or tag.startswith("sha256:"):
        return Ignored(what, "an artifact pushed by digest, without a tag")
    if not host or not (repository or path):
        return Ignored(what, "the event names no registry host or repository")
    return push(host, repository or path, tag, digest)
