"""Fixtures shared by the whole suite: the Docker engine, the root image, test images.

Integration tests use the real engine and images built during the run from
tests/images/. Where the engine is missing they are skipped, unless
JHIV_REQUIRE_DOCKER=1 (scripts/test.sh and CI), where that is a failure.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import docker
import docker.errors
import pytest

from tests.support import images as test_images
from tests.support.images import ROOT_IMAGE
from tests.support.skip import unavailable
from validator.runtime.sandbox import LABEL, LABEL_PID, pid_alive

# Before hypothesis is first imported: selenium (the hub page's browser tests) brings
# trio, whose "hypothesis" entry point fails to load with some hypothesis releases, and
# the suite registers no strategies through plugins.
os.environ.setdefault("HYPOTHESIS_NO_PLUGINS", "1")


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep the validator's result cache (and the children's) out of the user's home."""
    old = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
    yield
    if old is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = old


@pytest.fixture(scope="session")
def docker_client() -> docker.DockerClient:
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as exc:
        unavailable(f"no Docker engine: {exc}")
    try:
        client.images.get(ROOT_IMAGE)
    except docker.errors.ImageNotFound:
        unavailable(f"root image {ROOT_IMAGE} is missing: run scripts/setup-docker.sh")
    return client


@pytest.fixture(scope="session")
def build_image(docker_client: docker.DockerClient) -> Callable[[str], str]:
    """Build a test image (and its parents) once per session; returns its tag."""
    built: dict[str, str] = {}
    ca_bundle = test_images.default_ca_bundle()

    def build(name: str) -> str:
        if name not in built:
            built.update(
                test_images.build(docker_client, [name], root_image=ROOT_IMAGE, ca_bundle=ca_bundle)
            )
        return built[name]

    return build


def _alive(pid: str) -> bool:
    return pid.isdigit() and pid_alive(int(pid))


def labelled_objects(client: docker.DockerClient, *, orphans_only: bool = False) -> set[str]:
    """Names of every container, network and volume carrying the validator's label.

    ``orphans_only``: just those whose validator process has ended; objects of a run
    still going (someone else's, on a shared engine) are not leftovers yet.
    """
    flt = {"label": LABEL}
    found = (
        [
            (c.name, c.labels)
            for c in client.containers.list(ignore_removed=True, all=True, filters=flt)
        ]
        + [(n.name, n.attrs.get("Labels") or {}) for n in client.networks.list(filters=flt)]
        + [(v.name, v.attrs.get("Labels") or {}) for v in client.volumes.list(filters=flt)]
    )
    return {
        name for name, labels in found if not orphans_only or not _alive(labels.get(LABEL_PID, ""))
    }


@pytest.fixture(scope="session", autouse=True)
def nothing_left_behind() -> Iterator[None]:
    """After the suite, no container, network or volume of the validator may remain
    (objects that existed before the session started are not this suite's)."""
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException:
        yield
        return
    before = labelled_objects(client)
    yield
    left = labelled_objects(client, orphans_only=True) - before
    assert not left, f"the validator left Docker objects behind: {sorted(left)}"
