"""One Ctrl-C or SIGTERM ends the validator within 2 s at any stage, with exit 130, no
traceback and nothing left behind (issue #12). The stage is recognised from what the
engine shows of the run (its containers), not from sleeps."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable

import docker
import pytest

from validator.runtime.sandbox import LABEL_PID

pytestmark = pytest.mark.docker

PROMPT_S = 2.0


def _objects(client: docker.DockerClient, pid: int) -> list[str]:
    flt = {"label": f"{LABEL_PID}={pid}"}
    return (
        [c.name for c in client.containers.list(ignore_removed=True, all=True, filters=flt)]
        + [n.name for n in client.networks.list(filters=flt)]
        + [v.name for v in client.volumes.list(filters=flt)]
    )


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "validator", *args, "--no-cache"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_until(
    proc: subprocess.Popen[str], ready: Callable[[], bool], *, settle: float = 0.0
) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if ready():
            time.sleep(settle)
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("the validation never reached the stage")


def _interrupt(proc: subprocess.Popen[str], signum: int, client: docker.DockerClient) -> float:
    sent = time.monotonic()
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=30)
    latency = time.monotonic() - sent
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr, stderr
    assert _objects(client, proc.pid) == []
    return latency


def _running(client: docker.DockerClient, pid: int, at_least: int = 1) -> bool:
    flt = {"label": f"{LABEL_PID}={pid}", "status": "running"}
    return len(client.containers.list(ignore_removed=True, filters=flt)) >= at_least


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_during_the_version_run(
    signum: int, build_image: Callable[[str], str], docker_client: docker.DockerClient
) -> None:
    # The flood's entrypoint ignores --version: the version run and the spawn both wait.
    proc = _start(build_image("flood-no-server"), "--profile", "dockerspawner", "--timeout", "60")
    _wait_until(proc, lambda: _running(docker_client, proc.pid))
    assert _interrupt(proc, signum, docker_client) < PROMPT_S


def test_while_waiting_for_the_server(
    build_image: Callable[[str], str], docker_client: docker.DockerClient
) -> None:
    proc = _start(build_image("fork-storm"), "--profile", "dockerspawner", "--timeout", "90")
    # The network exists once the spawn started: past the version run's start.
    _wait_until(
        proc,
        lambda: (
            bool(docker_client.networks.list(filters={"label": f"{LABEL_PID}={proc.pid}"}))
            and _running(docker_client, proc.pid)
        ),
        settle=3.0,
    )
    assert _interrupt(proc, signal.SIGTERM, docker_client) < PROMPT_S


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_during_the_probes_and_the_stability_window(
    signum: int, build_image: Callable[[str], str], docker_client: docker.DockerClient
) -> None:
    image = build_image("good")
    proc = _start(image, "--profile", "dockerspawner", "--timeout", "90", "--stable-window", "60")
    # Only the candidate runs once the version run is gone: the server is up or coming.
    _wait_until(
        proc,
        lambda: (
            len(
                docker_client.containers.list(
                    ignore_removed=True, filters={"label": f"{LABEL_PID}={proc.pid}"}
                )
            )
            == 1
            and bool(docker_client.networks.list(filters={"label": f"{LABEL_PID}={proc.pid}"}))
        ),
        settle=8.0,
    )
    assert _interrupt(proc, signum, docker_client) < PROMPT_S


def test_with_parallel_images(
    build_image: Callable[[str], str], docker_client: docker.DockerClient
) -> None:
    images = [build_image("good"), build_image("flood-no-server")]
    proc = _start(*images, "--profile", "dockerspawner", "--timeout", "90", "--parallel", "2")
    _wait_until(proc, lambda: _running(docker_client, proc.pid, at_least=2), settle=2.0)
    assert _interrupt(proc, signal.SIGINT, docker_client) < PROMPT_S
