"""Tags and pushes: the only steps that make an image visible under its names.

A failing image never reaches these steps. Credentials come from the command line
(the password from stdin or $BUILD_IMAGES_REGISTRY_PASSWORD), else from the Docker
client's own config (docker login).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable
from typing import Any

import docker
import docker.errors

from validator.errors import RegistryError
from validator.registry.credentials import Credentials

log = logging.getLogger(__name__)


def apply_tags(
    client: docker.DockerClient, image_id: str, repository: str, tags: Iterable[str]
) -> list[str]:
    applied = []
    for tag in tags:
        if not client.api.tag(image_id, repository, tag, force=True):
            raise RegistryError(f"the engine refused to tag {image_id[:19]} as {repository}:{tag}")
        applied.append(f"{repository}:{tag}")
    return applied


def untag(client: docker.DockerClient, reference: str) -> None:
    """Remove one name; the image itself stays (it may be a parent in the cache)."""
    with contextlib.suppress(docker.errors.NotFound):
        client.api.remove_image(reference, noprune=True)


def push(
    client: docker.DockerClient,
    repository: str,
    tags: Iterable[str],
    credentials: Credentials | None,
    on_line: Callable[[str], None] | None = None,
) -> str | None:
    """Push every tag; return the digest the registry reported (None if it said none)."""
    auth: dict[str, Any] | None = credentials.auth_config() if credentials else None
    digest: str | None = None
    for tag in tags:
        try:
            stream = client.api.push(repository, tag, stream=True, decode=True, auth_config=auth)
            for chunk in stream:
                if "error" in chunk:
                    message = (chunk.get("errorDetail") or {}).get("message") or chunk["error"]
                    raise RegistryError(
                        f"pushing {repository}:{tag} failed: {message}",
                        hint="check --username and the password, and that the registry is reachable",
                    )
                aux = chunk.get("aux")
                if isinstance(aux, dict) and isinstance(aux.get("Digest"), str):
                    digest = aux["Digest"]
                status = chunk.get("status")
                if on_line is not None and isinstance(status, str) and "id" not in chunk:
                    on_line(f"{repository}:{tag}: {status}")
        except docker.errors.APIError as exc:
            raise RegistryError(
                f"pushing {repository}:{tag} failed: {exc.explanation or exc}"
            ) from None
    return digest
