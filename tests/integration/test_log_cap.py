"""A candidate that floods its log cannot fill the host's disk: the engine keeps at most
the sandbox's cap of it (an image is untrusted input)."""

from __future__ import annotations

import os
from pathlib import Path

import docker
import pytest

from tests.support.images import ROOT_IMAGE
from validator.runtime.sandbox import Limits, Sandbox

pytestmark = pytest.mark.docker

FLOOD_BYTES = 60_000_000
CAP = 1024 * 1024


def _log_bytes(log_dir: Path) -> int:
    """The container's log files on the host, rotated ones included."""
    return sum(f.stat().st_size for f in log_dir.iterdir() if ".log" in f.name)


def test_a_log_flood_is_kept_within_the_cap(docker_client: docker.DockerClient) -> None:
    limits = Limits(log_file_size="1m", log_files=2)
    with Sandbox(docker_client, limits=limits) as sandbox:
        tc = sandbox.container(
            ROOT_IMAGE,
            # 1000-character lines: the engine's cost is per line, the disk's per byte
            command=["sh", "-c", f"yes $(printf %01000d 0) | head -c {FLOOD_BYTES}"],
        )
        tc.start()
        container = tc.get_wrapped_container()
        container.reload()
        log_dir = Path(container.attrs["LogPath"]).parent
        assert container.wait(timeout=120)["StatusCode"] == 0
        on_disk = _log_bytes(log_dir)
    # The cap counts json-file's framing of each line: two files of 1 MB, plus one
    # line of slack, of the 60 MB the image wrote.
    assert 0 < on_disk <= 2 * CAP + 64 * 1024, on_disk
    assert not os.path.exists(log_dir), "the container's logs outlived it"
