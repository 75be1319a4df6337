"""Nothing the validator creates outlives it: not on Ctrl-C, not on SIGTERM, and after a
SIGKILL the next run sweeps the leftovers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

import docker
import pytest

from tests.conftest import labelled_objects, run_cli
from validator.runtime.sandbox import LABEL

pytestmark = pytest.mark.docker


def _ours(client: docker.DockerClient) -> list[str]:
    return sorted(labelled_objects(client))


def _start_and_wait_for_candidate(image: str, client: docker.DockerClient) -> subprocess.Popen[str]:
    """Start a full validation and return once its server container is running."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "validator",
            image,
            "--profile",
            "z2jh",
            "--mount-path",
            "/mnt/data",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        # The runtime stage is the one with a network and a volume: the deepest point to stop.
        running = client.containers.list(filters={"label": LABEL, "status": "running"})
        if client.networks.list(filters={"label": LABEL}) and running:
            return proc
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("the validation never started its server container")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_during_probes_removes_everything(
    signum: int, build_image: Callable[[str], str], docker_client: docker.DockerClient
) -> None:
    assert _ours(docker_client) == []
    proc = _start_and_wait_for_candidate(build_image("good"), docker_client)
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert _ours(docker_client) == []


def test_next_run_sweeps_what_a_killed_run_left(
    build_image: Callable[[str], str], docker_client: docker.DockerClient
) -> None:
    proc = _start_and_wait_for_candidate(build_image("good"), docker_client)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    assert _ours(docker_client), "a killed run should leave its objects (nothing removed them)"
    result = run_cli(build_image("plain"), "--static-only")
    assert result.exit_code == 1
    assert _ours(docker_client) == []
