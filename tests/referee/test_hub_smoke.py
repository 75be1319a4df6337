"""The referee harness itself: a real hub must tell a working image from a broken one.

If these fail, every verdict comparison built on the referee is meaningless, so
they check the harness's own guarantees too: timings, clean-up, failure wording.
"""

from __future__ import annotations

import time
from pathlib import Path

import docker
import pytest

from .hub import REFEREE_LABEL, RealHub

pytestmark = [pytest.mark.referee, pytest.mark.docker]


def _leftovers(client: docker.DockerClient, hub: RealHub) -> list[str]:
    # Sparse: no inspect per container, which fails (NotFound) when DockerSpawner removes
    # one between the listing and the inspect.
    containers = client.containers.list(
        ignore_removed=True,
        all=True,
        filters={"label": f"{REFEREE_LABEL}={hub.session_id}"},
        sparse=True,
    )
    return [str(name).lstrip("/") for c in containers for name in c.attrs.get("Names") or []]


def test_good_image_is_usable(
    real_hub: RealHub, good_image: str, docker_client: docker.DockerClient
) -> None:
    outcome = real_hub.spawn_outcome(good_image, "smoke-good")

    assert outcome.usable, (outcome, outcome.hub_log)
    assert outcome.failure is None
    assert outcome.problems == ()
    assert outcome.seconds_to_ready is not None
    assert 0 < outcome.seconds_to_ready < real_hub.http_timeout + real_hub.start_timeout
    assert _leftovers(docker_client, real_hub) == []


def test_container_that_exits_at_once_is_not_ready(
    real_hub: RealHub, exits_at_once_image: str, docker_client: docker.DockerClient
) -> None:
    outcome = real_hub.spawn_outcome(exits_at_once_image, "smoke-exits")

    assert not outcome.ready, outcome
    assert not outcome.usable
    assert outcome.seconds_to_ready is None
    # The hub notices the dead container without waiting out the 30 s http_timeout.
    # Its words depend on when it looks: "Spawn failed: ... 'ip' trait ..." when
    # DockerSpawner finds the container gone while asking for its address, or a 500
    # with "Container not found" in its log when its 10 s slow-spawn check does.
    assert outcome.failure, outcome
    assert "Spawn failed:" in outcome.failure or "Container not found" in outcome.failure, (
        outcome.failure
    )
    assert outcome.seconds_total < real_hub.http_timeout, outcome
    assert _leftovers(docker_client, real_hub) == []


def test_missing_image_failure_quotes_docker(real_hub: RealHub) -> None:
    outcome = real_hub.spawn_outcome("jhiv-referee-test/no-such-image:absent", "smoke-missing")

    assert not outcome.ready
    assert outcome.failure is not None
    assert outcome.failure.startswith("Spawn failed:"), outcome.failure
    assert "No such image" in outcome.failure


def test_closed_hub_leaves_nothing_behind(
    referee_venv: Path, docker_client: docker.DockerClient, good_image: str
) -> None:
    """A hub closed in the middle of a spawn still removes the container and its directory."""
    # slow_spawn_timeout=0: the spawn request returns at once, so the hub is
    # closed while the spawn is still pending, the case its own cleanup misses.
    hub = RealHub(referee_venv, docker_client=docker_client, slow_spawn_timeout=0)
    with hub:
        assert hub.startup_seconds is not None
        log_dir = hub.log_path.parent
        hub.api("POST", "users/smoke-close", expect=(201,))
        hub.api("POST", "users/smoke-close/server", json={"image": good_image}, expect=(202,))
        deadline = time.monotonic() + 30
        while not _leftovers(docker_client, hub):
            assert time.monotonic() < deadline, "the hub never created the container"
            time.sleep(0.1)
    assert _leftovers(docker_client, hub) == []
    assert not log_dir.exists()
    assert "JupyterHub" in hub.log_tail()
