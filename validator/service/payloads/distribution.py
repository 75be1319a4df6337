"""CNCF distribution notifications (registry 2.x ``events.v1+json``, 3.x ``events.v2+json``),
also what GitLab's container registry sends.

An envelope holds unrelated events: every blob upload and every pull is one, and so is
each platform manifest of a multi-platform push (by digest, without a tag). Only the
push of a tagged manifest or index names an image a hub could be given.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from validator.service.events import (
    MANIFEST_TYPES,
    Ignored,
    Parsed,
    Push,
    gather,
    mapping,
    push,
    sequence,
    text,
)

MEDIA_TYPES = frozenset(
    {
        "application/vnd.docker.distribution.events.v1+json",
        "application/vnd.docker.distribution.events.v2+json",
        # Accepted too: a proxy or a hand-made test may relabel the body.
        "application/json",
    }
)


def parse(document: Any) -> Parsed:
    envelope = mapping(document, "the body")
    events = sequence(envelope.get("events"), "'events'")
    return gather([_event(mapping(e, f"events[{i}]"), i) for i, e in enumerate(events)])


def _event(event: Any, index: int) -> Push | Ignored:
    where = f"events[{index}]"
    action = text(event.get("action"), f"{where}.action")
    target = mapping(event.get("target") or {}, f"{where}.target")
    repository = text(target.get("repository"), f"{where}.target.repository")
    media_type = text(target.get("mediaType"), f"{where}.target.mediaType")
    tag = text(target.get("tag"), f"{where}.target.tag")
    what = f"{action or 'event'} {repository or '?'}" + (f":{tag}" if tag else "")
    if action != "push":
        return Ignored(what, f"action {action!r} is not a push")
    if media_type not in MANIFEST_TYPES:
        return Ignored(what, f"{media_type or 'a blob'} is not an image manifest")
    if not tag:
        return Ignored(what, "a manifest pushed by digest, without a tag")
    request = mapping(event.get("request") or {}, f"{where}.request")
    # The host the pusher addressed is the name the hub will pull by.
    host = (
        text(request.get("host"), f"{where}.request.host")
        or urlsplit(text(target.get("url"), f"{where}.target.url")).netloc
    )
    if not host or not repository:
        return Ignored(what, "the event names no registry host or repository")
    digest = text(target.get("digest"), f"{where}.target.digest") or None
    return push(host, repository, tag, digest)
