"""The engine's pull: layers through the Docker engine, with the login and a progress view.

The login travels in the API's X-Registry-Auth header (docker SDK ``auth_config``), never in
a process argument. What the engine says back is scrubbed of the password and turned into
one line that names the registry, the user and the next step.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

import docker
import docker.errors

from validator.errors import (
    ImageNotFound,
    PlatformUnavailable,
    RegistryAuthError,
    RegistryError,
    RegistryTLSError,
    RegistryUnreachable,
    ValidatorError,
)
from validator.reference import ImageRef
from validator.registry.credentials import Credentials, scrub
from validator.registry.progress import PullObserver, PullState, Silent

log = logging.getLogger(__name__)


def explain(
    message: str, ref: ImageRef, credentials: Credentials | None, platform: str = "linux/amd64"
) -> ValidatorError:
    """The engine's error text for a failed pull as one of our errors (pure)."""
    text = scrub(message.strip(), credentials.password if credentials else None)
    short = text.splitlines()[0][:300] if text else "no reason given"
    host = ref.registry
    lowered = text.lower()
    if re.search(r"no matching manifest for|does not match the specified platform", lowered):
        return PlatformUnavailable(
            f"{ref.canonical} has no image for the hub's platform: {short}",
            hint=f"build and push it for the hub: docker buildx build --platform {platform} --push ...",
        )
    if re.search(
        r"unauthorized|authentication required|no basic auth credentials|incorrect username",
        lowered,
    ):
        who = f"user {credentials.username!r}" if credentials else "an anonymous pull"
        return RegistryAuthError(
            f"registry {host} refused {who}: {short}",
            hint="check the username and the password or token"
            if credentials
            else "give --username NAME and the token on --password-stdin",
        )
    if re.search(r"denied|forbidden", lowered):
        return RegistryAuthError(
            f"registry {host} denied the pull of {ref.repository}: {short}",
            hint="the account needs pull (read) permission on this repository",
        )
    if re.search(r"manifest unknown|not found|name unknown", lowered):
        return ImageNotFound(
            f"image {ref.canonical!r} was not found in its registry: {short}",
            hint="check the repository path and the tag",
        )
    if re.search(r"x509|certificate|tls: ", lowered):
        return RegistryTLSError(
            f"the Docker engine does not trust the certificate of registry {host}: {short}",
            hint=f"give the engine the CA: copy it to /etc/docker/certs.d/{host}/ca.crt "
            "(no restart needed)",
        )
    if "http response to https client" in lowered:
        return RegistryTLSError(
            f"registry {host} speaks plain HTTP and the Docker engine refuses it: {short}",
            hint=f'add "{host}" to "insecure-registries" in /etc/docker/daemon.json and restart dockerd',
        )
    if re.search(r"connection refused|no such host|i/o timeout|dial tcp|connection reset", lowered):
        return RegistryUnreachable(
            f"the Docker engine cannot reach registry {host}: {short}",
            hint="check the host, the port and the engine's network/proxy settings",
        )
    return RegistryError(
        f"cannot pull {ref.canonical!r}: {short}",
        hint="check the name, your network and the registry credentials",
    )


def pull(
    client: docker.DockerClient,
    ref: ImageRef,
    *,
    platform: str,
    credentials: Credentials | None = None,
    observer: PullObserver | None = None,
) -> PullState:
    """Pull ``ref`` for ``platform`` through the engine; returns what the pull reported."""
    observer = observer or Silent()
    state = PullState()
    started = time.monotonic()
    observer.start(ref.familiar, platform)
    try:
        events = client.api.pull(
            ref.name,
            tag=ref.digest or ref.tag,
            platform=platform,
            auth_config=credentials.auth_config() if credentials else None,
            stream=True,
            decode=True,
        )
        for event in events:
            _check(event, ref, credentials, platform)
            state.apply(event)
            observer.update(state)
    except docker.errors.APIError as exc:
        observer.abort()
        raise explain(str(exc.explanation or exc), ref, credentials, platform) from None
    except ValidatorError:
        observer.abort()
        raise
    seconds = time.monotonic() - started
    observer.finish(ref.familiar, state, seconds)
    log.info(
        "Pulled %s in %.1f s (%d layers, %d reused)",
        ref.canonical,
        seconds,
        state.layer_count,
        state.layers_reused,
    )
    return state


def _check(
    event: dict[str, Any], ref: ImageRef, credentials: Credentials | None, platform: str
) -> None:
    # Failures after the stream started come as events, not HTTP errors.
    if event.get("error") or event.get("errorDetail"):
        detail = event.get("errorDetail") or {}
        message = str(event.get("error") or detail.get("message") or "")
        raise explain(message, ref, credentials, platform)
