"""hub-auth, the stability window and stops-promptly on real images under DockerSpawner.

Through the real command line where the whole verdict matters; the runtime stage alone
for an image the exec stage would keep from starting (an entrypoint whose --version
exits 1 later), since what happens to its server is the point.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docker
import pytest

from tests.support.cli import run_cli
from validator.findings import Finding, Status
from validator.image import ImageInfo
from validator.options import Options
from validator.profiles import load_profile
from validator.runtime.sandbox import Sandbox
from validator.runtime.stage import runtime_findings

pytestmark = pytest.mark.docker


def _judge(image: str, tmp_path: Path) -> tuple[int, dict[str, dict[str, Any]]]:
    out = tmp_path / "report.json"
    result = run_cli(
        image, "--profile", "dockerspawner", "--no-cache", "--format", "json", "--output", str(out)
    )
    assert result.exit_code in (0, 1), result.stderr
    report = json.loads(out.read_text())
    return result.exit_code, {f["id"]: f for f in report["findings"]}


def _failed(found: dict[str, dict[str, Any]]) -> list[str]:
    return [f"{i}: {f['message']}" for i, f in found.items() if f["status"] == "fail"]


def test_good_passes_every_runtime_probe(build_image: Callable[[str], str], tmp_path: Path) -> None:
    code, found = _judge(build_image("good"), tmp_path)
    assert code == 0, _failed(found)
    assert found["hub-auth"]["status"] == "pass"
    assert found["stability"]["status"] == "pass"
    # The window counts from the first answer and is reported as such.
    assert "after its first answer" in found["stability"]["message"]
    assert found["stops-promptly"]["status"] == "pass"
    assert "after SIGTERM" in found["stops-promptly"]["message"]


def test_a_server_without_a_ui_passes_hub_auth(
    build_image: Callable[[str], str], tmp_path: Path
) -> None:
    code, found = _judge(build_image("server-no-ui"), tmp_path)
    assert found["hub-auth"]["status"] == "pass", found["hub-auth"]
    assert code == 0, _failed(found)


def test_plain_jupyter_lab_still_fails_hub_auth(
    build_image: Callable[[str], str], tmp_path: Path
) -> None:
    code, found = _judge(build_image("jupyter-lab-cmd"), tmp_path)
    assert code == 1
    assert found["hub-auth"]["status"] == "fail"
    assert found["server-api"]["status"] == "fail"


def test_a_death_seven_seconds_after_the_first_answer_fails_stability(
    build_image: Callable[[str], str], tmp_path: Path
) -> None:
    code, found = _judge(build_image("dies-within-10s"), tmp_path)
    assert code == 1
    stability = found["stability"]
    assert stability["status"] == "fail"
    assert "exited with code 1" in stability["message"]
    assert "crash-after-start: server killed" in stability["message"]
    assert found["stops-promptly"]["status"] == "skip"


def test_a_pid1_ignoring_sigterm_warns_without_failing(
    build_image: Callable[[str], str], tmp_path: Path
) -> None:
    code, found = _judge(build_image("sigterm-ignored"), tmp_path)
    assert code == 0
    stop = found["stops-promptly"]
    assert stop["status"] == "warn"
    assert "no SIGTERM handler" in stop["message"]
    assert "/bin/sh /usr/local/bin/entrypoint.sh" in stop["message"]
    assert 'exec "$@"' in stop["fix"]


def _runtime(docker_client: docker.DockerClient, tag: str) -> dict[str, Finding]:
    profile = load_profile("dockerspawner")
    image = ImageInfo.from_inspect(docker_client.images.get(tag).attrs)
    with Sandbox(docker_client) as sandbox:
        findings = runtime_findings(sandbox, image, profile, Options(), user=None)
    return {f.check_id: f for f in findings}


def test_a_background_entrypoint_failing_later_fails_stability_with_its_cause(
    build_image: Callable[[str], str], docker_client: docker.DockerClient
) -> None:
    found = _runtime(docker_client, build_image("entrypoint-background"))
    if found["server-starts"].status is not Status.PASS:
        # A loaded engine can take the six seconds to the first answer: then the same
        # death is seen by the wait for it.
        assert "exited with code 1" in found["server-starts"].message
        return
    stability = found["stability"]
    assert stability.status is Status.FAIL
    assert "exited with code 1" in stability.message
    assert "entrypoint: post-start task failed" in stability.message
