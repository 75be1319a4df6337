"""The I/O edge of a job: the registry (tag -> digest) and the validator with Docker.

The worker sees only the :class:`Runner` protocol, so its tests run without Docker.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import Counter
from typing import Protocol

import docker
import docker.errors

from validator.findings import Report
from validator.image import docker_client
from validator.options import Options
from validator.profiles import Profile
from validator.reference import ImageRef
from validator.registry import client as registry
from validator.registry.client import RegistryAccess
from validator.runtime.sandbox import Limits, close_all, sweep
from validator.service.settings import Settings
from validator.validate import validate

log = logging.getLogger(__name__)


class Runner(Protocol):
    def resolve(self, ref: ImageRef, access: RegistryAccess, platform: str) -> str:
        """The digest ``ref``'s tag names now (the registry is asked)."""

    def validate(self, ref: ImageRef, profile: Profile, options: Options) -> Report: ...

    def abort(self) -> None:
        """Remove the containers of every validation in progress (at shutdown)."""


CANDIDATE_SETTINGS = (
    "candidate_memory_mb",
    "candidate_cpus",
    "candidate_pids",
    "candidate_log_mb",
    "candidate_log_files",
)


def candidate_limits(settings: Settings) -> Limits:
    """The budget of every container a validation starts, from the service's settings."""
    return Limits(
        memory=f"{settings.candidate_memory_mb}m",
        cpus=settings.candidate_cpus,
        pids=settings.candidate_pids,
        log_file_size=f"{settings.candidate_log_mb}m",
        log_files=settings.candidate_log_files,
    )


class DockerRunner:
    """Validates with the local engine; removes the images it pulled unless told not to.
    Every container of every validation gets ``limits`` (memory, CPUs, processes, log)."""

    def __init__(self, keep_images: bool = False, limits: Limits | None = None) -> None:
        self.keep_images = keep_images
        self.limits = limits
        self._client: docker.DockerClient | None = None
        self._lock = threading.Lock()
        # Digests being validated now: an image two profiles validate at once is removed
        # by the last of them only.
        self._in_use: Counter[str] = Counter()

    def client(self) -> docker.DockerClient:
        with self._lock:
            if self._client is None:
                self._client = docker_client()
                removed = sweep(self._client)
                if removed:
                    log.info("Removed %d objects left by earlier runs", removed)
            return self._client

    def resolve(self, ref: ImageRef, access: RegistryAccess, platform: str) -> str:
        return registry.resolve(ref, access, platform).digest

    def validate(self, ref: ImageRef, profile: Profile, options: Options) -> Report:
        client = self.client()
        name = ref.canonical
        with self._lock:
            pulled_here = self._in_use[name] == 0 and not _present(client, name)
            self._in_use[name] += 1
        try:
            return validate(ref, profile, options, client=client, limits=self.limits)
        finally:
            with self._lock:
                self._in_use[name] -= 1
                last = self._in_use[name] == 0
            if last and pulled_here and not self.keep_images:
                # Every push would otherwise stay on the service's disk.
                with contextlib.suppress(docker.errors.DockerException):
                    client.images.remove(name)
                    log.info("Removed the pulled image %s", name)

    def abort(self) -> None:
        close_all()


def _present(client: docker.DockerClient, name: str) -> bool:
    try:
        client.images.get(name)
    except docker.errors.ImageNotFound:
        return False
    except docker.errors.DockerException:
        return True  # unsure: keep it rather than remove someone's image
    return True
