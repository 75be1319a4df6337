"""Nothing the validator creates outlives it: not on Ctrl-C, not on SIGTERM, and after a
SIGKILL the next run sweeps the leftovers.

Every object carries the pid of the validator that made it, so each test looks only at
its own run's objects: other runs may share the engine at the same time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

import docker
import pytest

from tests.support.cli import run_cli
from validator.runtime.sandbox import LABEL_PID

pytestmark = pytest.mark.docker


def _of(pid: int) -> dict[str, str]:
    return {"label": f"{LABEL_PID}={pid}"}


def _ours(client: docker.DockerClient, pid: int) -> list[str]:
    """Containers, networks and volumes made by the validator process ``pid``."""
    flt = _of(pid)
    return sorted(
        [c.name for c in client.containers.list(ignore_removed=True, all=True, filters=flt)]
        + [n.name for n in client.networks.list(filters=flt)]
        + [v.name for v in client.volumes.list(filters=flt)]
    )


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
        running = client.containers.list(
            ignore_removed=True, filters={**_of(proc.pid), "status": "running"}
        )
        made = client.networks.list(filters=_of(proc.pid)) and client.volumes.list(
            filters=_of(proc.pid)
        )
        if made and running:
            return proc
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("the validation never started its server container")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_during_probes_removes_everything(
    signum: int, build_image: Callable[[str], str], docker_client: docker.DockerClient
) -> None:
    proc = _start_and_wait_for_candidate(build_image("good"), docker_client)
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert _ours(docker_client, proc.pid) == []


def test_next_run_sweeps_what_a_killed_run_left(
    build_image: Callable[[str], str], docker_client: docker.DockerClient
) -> None:
    proc = _start_and_wait_for_candidate(build_image("good"), docker_client)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    assert _ours(docker_client, proc.pid), "a killed run leaves its objects (nothing removed them)"
    result = run_cli(build_image("plain"), "--static-only")
    assert result.exit_code == 1
    assert _ours(docker_client, proc.pid) == []
