"""Each command policy judges the command its spawner really runs (issue 11).

The four images differ only in how their command reaches jupyterhub-singleuser; each is
validated through the real command line under DockerSpawner (image CMD), z2jh (cmd
jupyterhub-singleuser) and Jupyter4NFDI (image CMD, the job API's bash -lc advisory).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.cli import run_cli

pytestmark = pytest.mark.docker

JOB = "job: bash -lc jupyterhub-singleuser"


@dataclass(frozen=True)
class Report:
    exit_code: int
    data: dict[str, Any]

    def findings(self, check: str, variant: str | None = None) -> list[dict[str, Any]]:
        return [
            f
            for f in self.data["findings"]
            if f["id"] == check and (variant is None or f["variant"] == variant)
        ]

    def one(self, check: str, variant: str | None = None) -> dict[str, Any]:
        (found,) = self.findings(check, variant)
        return found

    def failing(self) -> set[str]:
        return {f["id"] for f in self.data["findings"] if f["status"] == "fail"}


@pytest.fixture(scope="module")
def validate(build_image: Callable[[str], str]) -> Callable[[str, str], Report]:
    seen: dict[tuple[str, str], Report] = {}

    def run(image: str, profile: str) -> Report:
        if (image, profile) not in seen:
            result = run_cli(build_image(image), "--profile", profile, "--format", "json")
            assert result.exit_code in (0, 1), result.stderr
            seen[image, profile] = Report(result.exit_code, json.loads(result.stdout))
        return seen[image, profile]

    return run


def test_an_absolute_cmd_path_starts_under_the_image_policy(
    validate: Callable[[str, str], Report],
) -> None:
    report = validate("abs-path-cmd", "dockerspawner")
    assert report.exit_code == 0, report.failing()
    installed = report.one("singleuser-installed")
    assert installed["status"] == "pass"
    assert installed["message"].startswith("/opt/venv/bin/jupyterhub-singleuser ")
    assert report.one("server-starts")["status"] == "pass"


def test_an_absolute_cmd_path_fails_where_the_bare_name_is_run(
    validate: Callable[[str, str], Report],
) -> None:
    report = validate("abs-path-cmd", "z2jh")
    assert report.exit_code == 1
    assert report.failing() == {"singleuser-installed"}
    installed = report.one("singleuser-installed")
    assert "not found" in installed["message"] and "PATH" in installed["message"]
    assert report.one("server-starts")["status"] == "skip"


def test_the_job_api_is_a_warning_beside_the_image_policy(
    validate: Callable[[str, str], Report],
) -> None:
    report = validate("abs-path-cmd", "jupyter4nfdi")
    assert report.one("singleuser-installed", "image CMD")["status"] == "pass"
    assert report.one("server-starts", "image CMD")["status"] != "skip"
    job = report.one("singleuser-installed", JOB)
    assert job["status"] == "warn"
    assert job["message"].startswith("the platform's job API (bash -lc) would fail: ")
    assert "login shell" in job["message"]
    assert "/etc/profile.d" in job["fix"]
    assert not any(f["status"] == "fail" for f in report.findings("singleuser-installed"))


@pytest.mark.parametrize("profile", ["dockerspawner", "z2jh", "jupyter4nfdi"])
def test_an_entrypoint_that_refuses_to_start_is_quoted(
    profile: str, validate: Callable[[str, str], Report]
) -> None:
    report = validate("entrypoint-needs-var", profile)
    assert report.exit_code == 1
    deciding = "image CMD" if profile == "jupyter4nfdi" else None
    installed = report.one("singleuser-installed", deciding)
    assert installed["status"] == "fail"
    assert "ENTRYPOINT" in installed["message"] and "exited 3" in installed["message"]
    assert "LAB_LICENSE_KEY is not set; refusing to start" in installed["message"]
    assert "singleuser-imports" not in report.failing()


def test_singleuser_as_entrypoint_needs_a_cmd_on_dockerspawner_only(
    validate: Callable[[str, str], Report],
) -> None:
    docker = validate("entrypoint-singleuser", "dockerspawner")
    assert docker.exit_code == 1
    command = docker.one("command")
    assert command["status"] == "fail" and "no CMD" in command["message"]
    assert docker.one("singleuser-imports")["status"] == "pass"
    # DockerSpawner crashes before a container exists: nothing to probe.
    assert docker.one("server-starts")["status"] == "skip"

    j4n = validate("entrypoint-singleuser", "jupyter4nfdi")
    assert j4n.one("singleuser-installed", "image CMD")["status"] == "pass"
    assert j4n.one("singleuser-imports", "image CMD")["status"] == "pass"
    assert "fail" not in {f["status"] for f in j4n.findings("singleuser-imports")}
    assert j4n.one("command")["status"] == "warn"  # only the job API passes a command


def test_singleuser_as_entrypoint_takes_z2jhs_cmd_as_its_arguments(
    validate: Callable[[str, str], Report],
) -> None:
    report = validate("entrypoint-singleuser", "z2jh")
    assert report.exit_code == 1
    assert "becomes its arguments" in report.one("command")["message"]
    assert "becomes its arguments" in report.one("singleuser-installed")["message"]
    assert "singleuser-imports" not in report.failing()


@pytest.mark.parametrize("profile", ["dockerspawner", "jupyter4nfdi"])
def test_an_entrypoint_that_exits_after_the_version_is_run_and_watched(
    profile: str, validate: Callable[[str, str], Report]
) -> None:
    report = validate("entrypoint-background", profile)
    deciding = "image CMD" if profile == "jupyter4nfdi" else None
    assert report.one("singleuser-imports", deciding)["status"] != "fail"
    installed = report.one("singleuser-installed", deciding)
    if installed["status"] == "pass":
        assert report.one("singleuser-version", deciding)["status"] == "pass"
        # The runtime stage ran and saw what the exit does to the server.
        assert report.one("server-starts", deciding)["status"] != "skip"
        assert report.one("stability", deciding)["status"] in ("pass", "fail")
    else:
        # A machine so loaded that the import outlasts the entrypoint's 6 s: the exec
        # run cannot tell, so the spawn runs all the same and decides.
        assert "post-start task failed" in installed["message"], installed
        if installed["status"] == "warn":
            assert report.one("server-starts", deciding)["status"] != "skip"
        else:
            assert "did not serve either" in installed["message"], installed
