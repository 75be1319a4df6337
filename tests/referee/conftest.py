"""Fixtures for tests that ask a real JupyterHub (the referee) about an image.

``docker_client`` and ``build_image`` come from tests/conftest.py. The referee
fixtures skip, with the reason and the fix, when the referee venv is missing.
"""

from __future__ import annotations

import contextlib
import io
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import docker.errors
import pytest

from tests.support.skip import unavailable

from .hub import REFEREE_LABEL, RealHub, default_venv

DEFAULT_ROOT_IMAGE = "jhiv/debian-root:bookworm"


@pytest.fixture(scope="session")
def referee_venv() -> Path:
    venv = default_venv()
    if not (venv / "bin" / "jupyterhub").exists():
        unavailable(
            f"no referee venv at {venv} (REFEREE_VENV); run scripts/setup-referee.sh to build it"
        )
    return venv


@pytest.fixture(scope="session")
def real_hub(referee_venv: Path, docker_client: docker.DockerClient) -> Iterator[RealHub]:
    """One real hub for the whole session; each spawn_outcome call cleans up after itself."""
    with RealHub(referee_venv, docker_client=docker_client) as hub:
        yield hub


def _present(client: docker.DockerClient, image: str) -> bool:
    try:
        client.images.get(image)
    except docker.errors.ImageNotFound:
        return False
    return True


@pytest.fixture(scope="session")
def root_image(docker_client: docker.DockerClient) -> str:
    image = os.environ.get("JHIV_ROOT_IMAGE") or DEFAULT_ROOT_IMAGE
    if not _present(docker_client, image):
        pytest.skip(
            f"root image {image!r} (JHIV_ROOT_IMAGE) not found; run scripts/setup-docker.sh"
        )
    return image


@pytest.fixture(scope="session")
def good_image(docker_client: docker.DockerClient, build_image: Callable[[str], str]) -> str:
    """An image a hub spawns and serves: ``$JHIV_REFEREE_GOOD_IMAGE``, else the shared good one."""
    configured = os.environ.get("JHIV_REFEREE_GOOD_IMAGE")
    if configured:
        if not _present(docker_client, configured):
            pytest.skip(f"JHIV_REFEREE_GOOD_IMAGE={configured!r} is not a local image")
        return configured
    return build_image("good")


@pytest.fixture(scope="session")
def exits_at_once_image(docker_client: docker.DockerClient, root_image: str) -> Iterator[str]:
    """An image whose CMD exits 1 at once: no hub can ever get a server from it."""
    tag = f"jhiv-referee-test/exits-at-once:{uuid.uuid4().hex[:8]}"
    dockerfile = f'FROM {root_image}\nCMD ["false"]\n'
    docker_client.images.build(
        fileobj=io.BytesIO(dockerfile.encode()),
        tag=tag,
        rm=True,
        forcerm=True,
        labels={REFEREE_LABEL: "test-image"},
    )
    yield tag
    with contextlib.suppress(docker.errors.ImageNotFound):
        docker_client.images.remove(tag)
