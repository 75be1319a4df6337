"""The image under validation: find it (or pull it) and read its configuration.

Everything static checks need comes from ``docker image inspect``; no container runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import docker
import docker.errors

from validator.errors import DockerUnavailable, ImageNotFound, RegistryError
from validator.reference import ImageRef


@dataclass(frozen=True)
class ImageInfo:
    """The parts of an image's configuration that decide how a spawner can run it."""

    id: str
    os: str
    architecture: str
    variant: str | None = None
    user: str = ""
    entrypoint: tuple[str, ...] | None = None
    cmd: tuple[str, ...] | None = None
    env: dict[str, str] = field(default_factory=dict)
    exposed_ports: tuple[str, ...] = ()
    workdir: str = ""
    size_bytes: int = 0
    repo_digests: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    healthcheck: tuple[str, ...] | None = None

    @classmethod
    def from_inspect(cls, attrs: dict[str, Any]) -> ImageInfo:
        config = attrs.get("Config") or {}
        env: dict[str, str] = {}
        for item in config.get("Env") or []:
            key, _, value = item.partition("=")
            env[key] = value
        health = (config.get("Healthcheck") or {}).get("Test")
        entrypoint = config.get("Entrypoint")
        cmd = config.get("Cmd")
        return cls(
            id=attrs["Id"],
            os=attrs.get("Os", ""),
            architecture=attrs.get("Architecture", ""),
            variant=attrs.get("Variant") or None,
            user=config.get("User") or "",
            entrypoint=tuple(entrypoint) if entrypoint is not None else None,
            cmd=tuple(cmd) if cmd is not None else None,
            env=env,
            exposed_ports=tuple(sorted((config.get("ExposedPorts") or {}).keys())),
            workdir=config.get("WorkingDir") or "",
            size_bytes=int(attrs.get("Size") or 0),
            repo_digests=tuple(attrs.get("RepoDigests") or ()),
            labels=dict(config.get("Labels") or {}),
            healthcheck=tuple(health) if health else None,
        )

    @property
    def platform(self) -> str:
        base = f"{self.os}/{self.architecture}"
        return f"{base}/{self.variant}" if self.variant else base

    def digest_for(self, ref: ImageRef) -> str | None:
        """The registry digest of this image for ``ref``'s repository, if it has one."""
        for repo_digest in self.repo_digests:
            name, _, digest = repo_digest.partition("@")
            if name in (ref.name, ref.familiar.split(":")[0].split("@")[0]):
                return digest
        return self.repo_digests[0].partition("@")[2] if self.repo_digests else None


def docker_client() -> docker.DockerClient:
    """A client for the local engine (DOCKER_HOST honoured), or DockerUnavailable."""
    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except docker.errors.DockerException as exc:
        raise DockerUnavailable(
            f"cannot reach the Docker engine: {_short(exc)}",
            hint="start Docker (or set DOCKER_HOST) and check you may use its socket",
        ) from None
    return client


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:300]


def pull(client: docker.DockerClient, ref: ImageRef, platform: str) -> None:
    """Pull ``ref`` for ``platform``; errors become one-line RegistryError/ImageNotFound."""
    name = ref.familiar.split("@")[0].rsplit(":", 1)[0] if ref.tag else ref.name
    tag = ref.digest or ref.tag
    try:
        client.api.pull(
            name if ref.registry != "docker.io" else ref.name, tag=tag, platform=platform
        )
    except docker.errors.NotFound:
        raise ImageNotFound(f"image {ref.canonical!r} was not found in its registry") from None
    except docker.errors.APIError as exc:
        raise RegistryError(
            f"cannot pull {ref.canonical!r}: {_short(exc)}",
            hint="check the name, your network and registry credentials",
        ) from None


def get_image(
    client: docker.DockerClient, ref: ImageRef, *, pull_policy: str, platform: str
) -> ImageInfo:
    """Find the image locally or pull it, following ``pull_policy`` (always|missing|never)."""
    local = _inspect(client, ref)
    if pull_policy == "always" or (local is None and pull_policy == "missing"):
        pull(client, ref, platform)
        local = _inspect(client, ref)
    if local is None:
        hint = (
            "build or pull it first, or drop --pull never"
            if pull_policy == "never"
            else "check the name and tag"
        )
        raise ImageNotFound(f"image {ref.canonical!r} is not available locally", hint=hint)
    return local


def _inspect(client: docker.DockerClient, ref: ImageRef) -> ImageInfo | None:
    for name in dict.fromkeys((ref.familiar, ref.canonical)):
        try:
            return ImageInfo.from_inspect(client.api.inspect_image(name))
        except docker.errors.ImageNotFound:
            continue
        except docker.errors.APIError as exc:
            raise DockerUnavailable(f"cannot inspect image {name!r}: {_short(exc)}") from None
    return None
