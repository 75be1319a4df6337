"""Hostile images cannot hurt the validator: its memory stays bounded, the candidate's log
on disk stays within the cap, the run ends near the profile's timeout, nothing is left
behind, and the verdict names the real cause (issue #12)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import docker
import pytest

from validator.runtime.sandbox import LABEL_PID, Limits

pytestmark = pytest.mark.docker

TIMEOUT = 20
RSS_LIMIT_MB = 300
# json-file's framing of each line comes on top of the two files' cap.
LOG_CAP = 2 * 10 * 1024 * 1024 + 64 * 1024
assert Limits().log_file_size == "10m" and Limits().log_files == 2


@dataclass
class Watched:
    exit_code: int
    seconds: float
    peak_rss_mb: float
    peak_log_bytes: int
    report: dict[str, object]
    stderr: str
    leftovers: list[str] = field(default_factory=list)

    def finding(self, check_id: str) -> dict[str, str]:
        findings = self.report["findings"]
        assert isinstance(findings, list)
        return next(f for f in findings if f["id"] == check_id)


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _log_bytes(client: docker.DockerClient, pid: int) -> int:
    """The largest log on disk of the run's running containers (rotated files included)."""
    largest = 0
    for container in client.containers.list(
        ignore_removed=True, filters={"label": f"{LABEL_PID}={pid}"}
    ):
        log_dir = Path(container.attrs["LogPath"]).parent
        try:
            size = sum(f.stat().st_size for f in log_dir.iterdir() if ".log" in f.name)
        except OSError:
            continue
        largest = max(largest, size)
    return largest


def _validate(image: str, client: docker.DockerClient) -> Watched:
    """The CLI on ``image``, its RSS and its candidates' logs sampled while it runs."""
    started = time.monotonic()
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "validator", image, "--profile", "dockerspawner"),
            *("--timeout", str(TIMEOUT), "--format", "json", "--no-cache"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    peak_rss, peak_log = 0.0, 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak_rss, peak_log
        while not done.is_set():
            peak_rss = max(peak_rss, _rss_mb(proc.pid))
            peak_log = max(peak_log, _log_bytes(client, proc.pid))
            done.wait(0.2)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        stdout, stderr = proc.communicate(timeout=TIMEOUT + 120)
    finally:
        done.set()
        sampler.join()
    flt = {"label": f"{LABEL_PID}={proc.pid}"}
    left = [c.name for c in client.containers.list(ignore_removed=True, all=True, filters=flt)]
    left += [n.name for n in client.networks.list(filters=flt)]
    return Watched(
        proc.returncode,
        time.monotonic() - started,
        peak_rss,
        peak_log,
        json.loads(stdout) if stdout.strip().startswith("{") else {},
        stderr,
        left,
    )


def _bounded(run: Watched, *, wall: float) -> None:
    assert "Traceback" not in run.stderr, run.stderr
    assert run.peak_rss_mb < RSS_LIMIT_MB, run.peak_rss_mb
    assert run.peak_log_bytes <= LOG_CAP, run.peak_log_bytes
    assert run.seconds <= wall, run.seconds
    assert run.leftovers == []


def test_a_flood_without_a_server(
    build_image: Callable[[str], str], docker_client: docker.DockerClient
) -> None:
    run = _validate(build_image("flood-no-server"), docker_client)
    _bounded(run, wall=TIMEOUT + 25)
    assert run.exit_code == 1, run.stderr
    starts = run.finding("server-starts")
    assert starts["status"] == "fail"
    assert f"no answer at /user/validator/api within {TIMEOUT} s" in starts["message"]
    assert "a log flood" in starts["message"]
    # What the log kept is bounded too: its head and tail, not gigabytes.
    assert len(starts["evidence"] or "") < 400_000


def test_a_flood_while_serving_is_judged_on_the_timeout(
    build_image: Callable[[str], str], docker_client: docker.DockerClient
) -> None:
    run = _validate(build_image("flood-serving"), docker_client)
    # The first answer within the timeout, then the stability window and the probes.
    _bounded(run, wall=TIMEOUT + 60)
    starts = run.finding("server-starts")
    assert starts["status"] == "pass", starts
    assert float(starts["duration_s"]) <= TIMEOUT + 1
    assert run.finding("stability")["status"] == "pass"


def test_a_fork_storm(
    build_image: Callable[[str], str], docker_client: docker.DockerClient
) -> None:
    run = _validate(build_image("fork-storm"), docker_client)
    _bounded(run, wall=TIMEOUT + 25)
    assert run.exit_code == 1
    # The version run or the spawn, whichever the storm ended first, names the limit.
    findings = run.report["findings"]
    assert isinstance(findings, list)
    said = " ".join(f["message"] for f in findings if f["status"] == "fail")
    assert "pids limit" in said or "fork: Resource temporarily unavailable" in said, said


def test_a_memory_hog(
    build_image: Callable[[str], str], docker_client: docker.DockerClient
) -> None:
    run = _validate(build_image("memory-hog"), docker_client)
    _bounded(run, wall=TIMEOUT + 25)
    assert run.exit_code == 1
    findings = run.report["findings"]
    assert isinstance(findings, list)
    said = " ".join(f["message"] for f in findings if f["status"] in ("fail", "warn"))
    assert "ran out of memory" in said, said
