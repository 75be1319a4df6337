"""The base image the integration tests build once per run, and how they run it.

``built`` (tests/integration/conftest.py) runs one ``build-images build base`` for
hub HUB on the root image; the tests then start containers of BASE with
``container``/``run_once``, labelled so a crashed run's leftovers are recognisable.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors
from docker.models.containers import Container

from tests.support.images import ROOT_IMAGE, default_ca_bundle

HUB = "5.4.6"
PREFIX = "jhiv-ci"  # not jhiv-test/: the test images own that namespace
BASE = f"{PREFIX}/base:hub-{HUB}"
LABEL = "org.jupyter.image-validator.test"


def ca_bundle() -> Path | None:
    machine = Path("/etc/ssl/certs/ca-certificates.crt")
    return default_ca_bundle() or (machine if machine.is_file() else None)


@dataclass(frozen=True)
class Built:
    stdout: str
    stderr: str
    seconds: float
    out: Path
    manifests: dict[str, dict[str, Any]]
    ca: Path | None


def build_base(out: Path) -> Built:
    """``build-images build base`` into ``out``; fails the caller on a failed build."""
    ca = ca_bundle()
    command = [
        sys.executable, "-m", "validator.images", "build", "base",
        "--hub", HUB,
        "--root-image", ROOT_IMAGE,
        "--repository-prefix", PREFIX,
        "--out", str(out),
    ]  # fmt: skip
    if ca is not None:
        command += ["--ca-cert", str(ca)]
    started = time.monotonic()
    proc = subprocess.run(command, capture_output=True, text=True, timeout=1800, check=False)
    seconds = time.monotonic() - started
    print(f"build-images build base --hub {HUB}: {seconds:.1f} s\n{proc.stdout}")
    if proc.returncode != 0:
        raise AssertionError(proc.stdout + proc.stderr[-4000:])
    manifests = {
        path.stem: json.loads(path.read_text()) for path in (out / "manifests").glob("*.json")
    }
    return Built(proc.stdout, proc.stderr, seconds, out, manifests, ca)


@contextlib.contextmanager
def container(client: docker.DockerClient, **kwargs: Any) -> Iterator[Container]:
    """A detached container of the base image, removed whatever happens."""
    kwargs.setdefault("image", BASE)
    run = client.containers.run(
        detach=True, labels={LABEL: "true"}, name=f"jhiv-ci-{uuid.uuid4().hex[:8]}", **kwargs
    )
    try:
        yield run
    finally:
        with contextlib.suppress(docker.errors.NotFound):
            run.remove(force=True, v=True)


def run_to_end(client: docker.DockerClient, command: list[str], **kwargs: Any) -> tuple[int, str]:
    """Run ``command`` through the image's ENTRYPOINT to its end: exit code, output."""
    with container(client, command=command, **kwargs) as c:
        status = c.wait(timeout=60)
        logs: str = c.logs().decode("utf-8", "replace")
    return int(status["StatusCode"]), logs


def run_once(client: docker.DockerClient, command: list[str], **kwargs: Any) -> str:
    """Run ``command`` to its end, which must be a success; stdout and stderr."""
    code, logs = run_to_end(client, command, **kwargs)
    if code != 0:
        raise AssertionError(f"exit code {code}:\n{logs}")
    return logs


def wait_for(
    predicate: Callable[[], bool], timeout: float, what: str, last: Callable[[], Any] = lambda: ""
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"{what} within {timeout:.0f} s; last seen: {last()}")


def health(c: Container) -> str:
    c.reload()
    return str(c.attrs["State"].get("Health", {}).get("Status", "none"))
