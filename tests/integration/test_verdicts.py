"""The three foundation images, judged end to end through the real command line:
a plain Debian image, jupyterhub alone, and a good jupyterhub + jupyterlab image."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cli import run_cli

pytestmark = pytest.mark.docker

# name -> (exit code, the checks that must fail)
EXPECTED = {
    "plain": (1, {"singleuser-installed"}),  # no Python at all (catalogue #1)
    "hub-only": (1, {"singleuser-imports"}),  # jupyterhub without jupyter_server (#2)
    "good": (0, set()),
}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_json_verdict_and_failing_checks(
    name: str, build_image: Callable[[str], str], tmp_path: Path
) -> None:
    code, failing = EXPECTED[name]
    out = tmp_path / "report.json"
    result = run_cli(build_image(name), "--format", "json", "--output", str(out))
    assert result.exit_code == code, result.stderr
    report = json.loads(out.read_text())
    assert report["verdict"] == ("compatible" if code == 0 else "incompatible")
    assert report["exit_code"] == code
    assert report["reference"] == f"docker.io/jhiv-test/{name}:latest"
    assert {f["id"] for f in report["findings"] if f["status"] == "fail"} == failing
    for finding in report["findings"]:
        if finding["status"] == "fail":
            assert finding["fix"], f"{finding['id']} fails without a fix"


def test_text_report_names_cause_and_fix(build_image: Callable[[str], str]) -> None:
    result = run_cli(build_image("plain"))
    assert result.exit_code == 1
    assert "FAIL" in result.stdout and "singleuser-installed" in result.stdout
    assert "pip install" in result.stdout  # the fix is shown
    assert "incompatible" in result.stdout
    assert "\x1b[" not in result.stdout  # no colour when not on a terminal


def test_junit_report_for_incompatible_image(
    build_image: Callable[[str], str], tmp_path: Path
) -> None:
    junit = tmp_path / "junit.xml"
    result = run_cli(build_image("hub-only"), "--junit", str(junit), "--static-only")
    assert result.exit_code == 1
    suite = ET.parse(junit).getroot()
    if suite.tag == "testsuites":
        suite = suite.find("testsuite")  # type: ignore[assignment]
    assert suite is not None and suite.get("name")
    assert int(suite.get("tests", "0")) > 0
    assert suite.get("failures") == "1"
    failed = [c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None]
    # The default profile spawns two modes (image CMD, and the job API as advisory).
    assert failed == ["singleuser-imports [image CMD]"]


def test_good_image_passes_every_runtime_probe(build_image: Callable[[str], str]) -> None:
    result = run_cli(build_image("good"), "--profile", "z2jh", "--format", "json")
    assert result.exit_code == 0, result.stdout + result.stderr
    statuses = {f["id"]: f["status"] for f in json.loads(result.stdout)["findings"]}
    for probe in (
        "server-starts",
        "server-api",
        "hub-auth",
        "token-auth",
        "hub-contact",
        "kernel-runs",
        "home-writable",
        "listen-address",
        "stability",
    ):
        assert statuses[probe] == "pass", (probe, statuses)


def test_missing_image_is_a_tool_error() -> None:
    result = run_cli("jhiv-test/does-not-exist:nope", "--pull", "never")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "not available locally" in lines[0]
    assert "Traceback" not in result.stderr


def test_invalid_reference_is_a_usage_error() -> None:
    result = run_cli("https://Registry.example.com/UPPER:latest")
    assert result.exit_code == 2
    assert result.stderr.startswith("validate-image: error: invalid image reference")
    assert "Traceback" not in result.stderr
