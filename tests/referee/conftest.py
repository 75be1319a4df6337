"""Fixtures for tests that ask a real JupyterHub (the referee) about an image.

Nothing here is needed for the unit tests: every fixture skips, with the reason
and the fix, when this machine lacks the referee venv, Docker or an image.
"""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors
import pytest

from .hub import REFEREE_LABEL, RealHub, default_venv

DEFAULT_ROOT_IMAGE = "jhiv/debian-root:bookworm"
DEFAULT_GOOD_IMAGE = "jhiv-test/good:latest"
# Built by hand while the shared test images did not exist yet; used only when
# the shared good image is absent, so a developer machine that has it keeps working.
DEV_GOOD_IMAGE = "jhiv-referee-dev/good:latest"


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as e:
        pytest.skip(f"no Docker engine to spawn containers on ({e}); run scripts/setup-docker.sh")
    yield client
    client.close()


@pytest.fixture(scope="session")
def referee_venv() -> Path:
    venv = default_venv()
    if not (venv / "bin" / "jupyterhub").exists():
        pytest.skip(
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
        pytest.skip(f"root image {image!r} (JHIV_ROOT_IMAGE) not found; run scripts/setup-docker.sh")
    return image


@pytest.fixture(scope="session")
def good_image(docker_client: docker.DockerClient) -> str:
    """An image a hub spawns and serves: the shared good test image, if built."""
    configured = os.environ.get("JHIV_REFEREE_GOOD_IMAGE")
    candidates = [configured] if configured else [DEFAULT_GOOD_IMAGE, DEV_GOOD_IMAGE]
    for image in candidates:
        if _present(docker_client, image):
            return image
    pytest.skip(
        f"none of the good images {candidates} is built;"
        " build it with `python -m tests.support.images good`"
    )


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
    try:
        docker_client.images.remove(tag, noprune=False)
    except docker.errors.ImageNotFound:
        pass
