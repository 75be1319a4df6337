"""The image under validation: find it (or pull it) and read its configuration.

Everything static checks need comes from ``docker image inspect``; no container runs.
Getting it is two steps, so a cached result can be found between them: ``locate`` (the
local copy, and the registry's digest when a pull is due) and ``fetch`` (the pull).
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from typing import Any

import docker
import docker.errors

from validator.errors import DockerUnavailable, ImageNotFound, RegistryUnreachable
from validator.reference import ImageRef
from validator.registry import client as registry
from validator.registry.client import Manifest, RegistryAccess
from validator.registry.progress import PullObserver
from validator.registry.pull import pull

log = logging.getLogger(__name__)


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
    size_bytes: int = 0
    repo_digests: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    # What a node downloads (the registry manifest's layer sizes); None for an image
    # the registry was not asked about: the engine keeps no compressed sizes.
    compressed_bytes: int | None = None

    @classmethod
    def from_inspect(cls, attrs: dict[str, Any]) -> ImageInfo:
        config = attrs.get("Config") or {}
        env: dict[str, str] = {}
        for item in config.get("Env") or []:
            key, _, value = item.partition("=")
            env[key] = value
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
            size_bytes=int(attrs.get("Size") or 0),
            repo_digests=tuple(attrs.get("RepoDigests") or ()),
            labels=dict(config.get("Labels") or {}),
        )

    @property
    def platform(self) -> str:
        base = f"{self.os}/{self.architecture}"
        return f"{base}/{self.variant}" if self.variant else base

    def digest_for(self, ref: ImageRef) -> str | None:
        """The registry digest of this image for ``ref``'s repository, if it has one.

        Only ``ref``'s own repository counts: the same image pushed elsewhere has a digest
        there, which says nothing about what ``ref`` names.
        """
        familiar = ref.familiar.split("@")[0].removesuffix(f":{ref.tag}" if ref.tag else "")
        names = {ref.name, familiar}
        digests = [d for n, _, d in (rd.partition("@") for rd in self.repo_digests) if n in names]
        if ref.digest:
            return ref.digest
        return digests[0] if digests else None


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


@dataclass(frozen=True)
class Source:
    """Where the image under validation will come from, decided before any layer moves."""

    ref: ImageRef
    local: ImageInfo | None
    must_pull: bool
    # What the registry holds under ref, when it was asked.
    manifest: Manifest | None = None

    @property
    def digest(self) -> str | None:
        """The registry digest of what will be validated, when known before pulling."""
        if self.must_pull:
            return self.ref.digest or (self.manifest.digest if self.manifest else None)
        return self.local.digest_for(self.ref) if self.local else None


def locate(
    client: docker.DockerClient,
    ref: ImageRef,
    *,
    pull_policy: str,
    platform: str,
    access: RegistryAccess | None = None,
) -> Source:
    """Find the local copy and, when a pull is due, ask the registry what it holds.

    ``pull_policy``: always | missing | never. The registry is also asked when the user
    gave a login for it, so wrong credentials are reported even for a local copy.
    """
    access = access or RegistryAccess()
    local = _inspect(client, ref)
    must_pull = pull_policy == "always" or (local is None and pull_policy == "missing")
    if local is None and not must_pull:
        raise ImageNotFound(
            f"image {ref.canonical!r} is not available locally",
            hint="build or pull it first, or drop --pull never",
        )
    given = access.credentials_for(ref.registry)
    if not (must_pull or (pull_policy != "never" and given is not None and given.from_user)):
        return Source(ref, local, must_pull)
    try:
        manifest = registry.resolve(ref, access, platform)
    except RegistryUnreachable as exc:
        if ref.is_docker_hub and given is None:
            # The engine may reach Docker Hub through a mirror or proxy we do not see.
            log.info("Asking the engine to pull anyway: %s", exc.message)
            return Source(ref, local, must_pull)
        raise
    source = Source(ref, local, must_pull, manifest)
    if local is not None and not must_pull and local.digest_for(ref) != manifest.digest:
        log.warning(
            "The local copy of %s is not the registry's %s; validating the local copy "
            "(--pull always validates the registry's)",
            ref.familiar,
            manifest.digest,
        )
    return source


def fetch(
    client: docker.DockerClient,
    source: Source,
    *,
    platform: str,
    access: RegistryAccess | None = None,
    observer: PullObserver | None = None,
) -> tuple[ImageInfo, str | None]:
    """Pull when due; the image to validate and its registry digest."""
    ref = source.ref
    if not source.must_pull:
        assert source.local is not None  # locate() raised otherwise
        return _with_layer_sizes(source.local, source), source.digest
    credentials = (access or RegistryAccess()).credentials_for(ref.registry)
    state = pull(client, ref, platform=platform, credentials=credentials, observer=observer)
    image = _inspect(client, ref)
    if image is None:
        raise ImageNotFound(f"image {ref.canonical!r} is missing after its pull")
    digest = ref.digest or state.digest or source.digest or image.digest_for(ref)
    return _with_layer_sizes(image, source), digest


def _with_layer_sizes(image: ImageInfo, source: Source) -> ImageInfo:
    """``image`` with the compressed size the registry gave, when it describes this image."""
    manifest = source.manifest
    if manifest is None or manifest.layer_bytes is None:
        return image
    if not source.must_pull and image.digest_for(source.ref) != manifest.digest:
        return image  # a local copy that differs from the registry's
    return dataclasses.replace(image, compressed_bytes=manifest.layer_bytes)


def _inspect(client: docker.DockerClient, ref: ImageRef) -> ImageInfo | None:
    for name in dict.fromkeys((ref.familiar, ref.canonical)):
        try:
            return ImageInfo.from_inspect(client.api.inspect_image(name))
        except docker.errors.ImageNotFound:
            continue
        except docker.errors.APIError as exc:
            raise DockerUnavailable(f"cannot inspect image {name!r}: {_short(exc)}") from None
    return None
