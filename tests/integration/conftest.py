"""Fixtures of the integration tests that several modules share."""

from __future__ import annotations

import docker
import pytest

from tests.support.base_image import Built, build_base


@pytest.fixture(scope="session")
def built(docker_client: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The base image for hub HUB, built once per run (the layer cache makes a rebuild cheap)."""
    return build_base(tmp_path_factory.mktemp("build-images"))
