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
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
import pytest

from tests.support.skip import unavailable

from .hub import PLAIN, REFEREE_LABEL, RealHub, default_venv
from .pool import CaseKey, CasePool

# Seconds the server must stay up counted from its first answer, on both sides: a
# user's first steps (redirect, JupyterLab loading, a notebook) take about that long.
STABLE_WINDOW = 10.0
# Cases run side by side (a hub spawn and a validator run each); most of a case is
# waiting, so a few at a time fit a small machine.
DEFAULT_WORKERS = 3


@dataclass(frozen=True)
class AgreementRow:
    """One line of the agreement table printed at the end of the session."""

    image: str
    config: str
    hub: str
    validator: str
    agree: bool


_AGREEMENT = pytest.StashKey[list[AgreementRow]]()

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
def case_pool(referee_venv: Path, docker_client: docker.DockerClient) -> Iterator[CasePool]:
    """The session's hubs (one per configuration) and the cases run ahead on them."""
    workers = int(os.environ.get("JHIV_REFEREE_WORKERS") or DEFAULT_WORKERS)
    pool = CasePool(referee_venv, docker_client, workers=workers, stable_window=STABLE_WINDOW)
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture(scope="session")
def prefetched_pool(
    request: pytest.FixtureRequest, case_pool: CasePool, build_image: Callable[[str], str]
) -> CasePool:
    """``case_pool`` with every selected case started, in the order the tests will ask."""
    keys: list[CaseKey] = []
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        case = callspec.params.get("case") if callspec is not None else None
        image = getattr(case, "image", None)
        config = getattr(case, "config", None)
        if isinstance(image, str) and isinstance(config, str):
            keys.append(CaseKey(build_image(image), config))
    case_pool.prefetch(keys)
    return case_pool


@pytest.fixture(scope="session")
def real_hub(case_pool: CasePool) -> RealHub:
    """The session's plain hub; each spawn_outcome call cleans up after itself."""
    return case_pool.hub(PLAIN)


@pytest.fixture(scope="session")
def agreement(request: pytest.FixtureRequest) -> list[AgreementRow]:
    """Rows for the agreement table; tests add theirs before asserting."""
    return request.config.stash.setdefault(_AGREEMENT, [])


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    rows = terminalreporter.config.stash.get(_AGREEMENT, [])
    if not rows:
        return
    terminalreporter.section("referee: real hub vs validator")
    rows = sorted(rows, key=lambda r: (r.config, r.image))
    width = max(len(r.image) for r in rows)
    terminalreporter.write_line(f"{'image':<{width}}  {'config':<6}  {'agree':<5}  hub | validator")
    for r in rows:
        terminalreporter.write_line(
            f"{r.image:<{width}}  {r.config:<6}  {'yes' if r.agree else 'NO':<5}"
            f"  {r.hub} | {r.validator}"
        )
    agreed = sum(r.agree for r in rows)
    terminalreporter.write_line(f"{agreed}/{len(rows)} verdicts agree")


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
