"""pull-time, platform-tools and hub-api-tls on real images, through the real command line.

The jupyter4nfdi checks run under a profile that extends it with plain HTTP and no
user-data mount, so these tests judge only the three checks, whatever the state of
the internal-SSL and volume work the full profile also asks for.
"""

from __future__ import annotations

import contextlib
import io
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest
import requests

from tests.support.cli import run_cli
from tests.support.images import TEST_LABEL
from tests.support.registry import TestRegistry
from tests.support.reports import findings_by_id
from validator.image import fetch, locate
from validator.reference import parse_reference
from validator.registry.client import RegistryAccess

pytestmark = pytest.mark.docker

NEW_CHECKS = ("pull-time", "platform-tools", "hub-api-tls")

# jhiv-test/good changed as root by one RUN line, back to its user 1000 after.
DERIVED_DOCKERFILE = """\
ARG BASE_IMAGE
FROM ${{BASE_IMAGE}}
USER root
RUN {run}
USER 1000
"""
# No CA certificate at all: the hub's public https URL cannot be verified.
NO_CA = "rm -rf /etc/ssl/certs/* /usr/share/ca-certificates/*"
# No /bin/sh (merged /usr: /bin is /usr/bin); bash stays, the server needs no shell.
NO_SH = "rm -f /usr/bin/sh /usr/bin/dash"


@pytest.fixture
def j4n_profile(tmp_path: Path) -> str:
    path = tmp_path / "j4n-plain.yaml"
    path.write_text("extends: jupyter4nfdi\ninternal_ssl: false\nmount_path: null\n")
    return str(path)


@pytest.fixture
def derived_image(
    docker_client: docker.DockerClient, build_image: Callable[[str], str]
) -> Iterator[Callable[[str], str]]:
    """Build jhiv-test/good with one more RUN line; every image built is removed after."""
    tags: list[str] = []

    def build(run: str) -> str:
        tag = f"jhiv-test/platform-checks:{uuid.uuid4().hex[:12]}"
        docker_client.images.build(
            fileobj=io.BytesIO(DERIVED_DOCKERFILE.format(run=run).encode()),
            tag=tag,
            buildargs={"BASE_IMAGE": build_image("good")},
            labels={TEST_LABEL: "true"},
            rm=True,
            forcerm=True,
        )
        tags.append(tag)
        return tag

    yield build
    for tag in tags:
        with contextlib.suppress(docker.errors.ImageNotFound):
            docker_client.images.remove(tag, force=True)


def findings(image: str, profile: str) -> tuple[int, dict[str, dict[str, Any]]]:
    result = run_cli(image, "--profile", profile, "--format", "json")
    assert result.exit_code in (0, 1), result.stdout + result.stderr
    report = json.loads(result.stdout)
    return result.exit_code, {i: f for i, f in findings_by_id(report).items() if i in NEW_CHECKS}


def test_good_under_jupyter4nfdi_warns_only_for_the_missing_platform_tools(
    build_image: Callable[[str], str], j4n_profile: str
) -> None:
    code, found = findings(build_image("good"), j4n_profile)
    assert code == 0  # all three are warnings at most
    tools = found["platform-tools"]
    assert tools["status"] == "warn"
    # Debian minbase has no procps and no curl; kill is the hook shell's builtin.
    assert "missing in the image: ps, curl." in tools["message"]
    assert "needs ps: it cannot stop the server cleanly by name." in tools["message"]
    assert "needs curl: jobs cannot run." in tools["message"]
    assert "procps curl" in tools["fix"]
    tls = found["hub-api-tls"]
    assert tls["status"] == "pass", tls["message"]
    assert "/opt/venv/bin/python3" in tls["message"] and "CA certificates" in tls["message"]
    pull = found["pull-time"]
    assert pull["status"] == "pass", pull["message"]
    # A local image: the registry's sizes are unknown and the message says so.
    assert "pull estimated at" in pull["message"] and "600 s start timeout" in pull["message"]
    assert "every start pays the pull" in pull["message"]


def test_dockerspawner_runs_pull_time_but_not_the_platform_checks(
    build_image: Callable[[str], str],
) -> None:
    code, found = findings(build_image("good"), "dockerspawner")
    assert code == 0
    assert found["platform-tools"]["status"] == "skip"
    assert found["hub-api-tls"]["status"] == "skip"
    assert found["pull-time"]["status"] == "pass"
    assert "only the first start on each node pays the pull" in found["pull-time"]["message"]


def test_an_image_without_ca_certificates_warns_with_the_fix(
    derived_image: Callable[[str], str], j4n_profile: str
) -> None:
    code, found = findings(derived_image(NO_CA), j4n_profile)
    assert code == 0  # a warning, not a failure
    tls = found["hub-api-tls"]
    assert tls["status"] == "warn", tls["message"]
    assert "loads no CA certificate" in tls["message"]
    assert "depends on its configuration" in tls["message"]
    assert "ca-certificates" in tls["fix"] and "SSL_CERT_FILE" in tls["fix"]


def test_without_a_shell_the_tools_are_looked_up_by_the_engine(
    derived_image: Callable[[str], str], j4n_profile: str
) -> None:
    code, found = findings(derived_image(NO_SH), j4n_profile)
    assert code == 0
    tools = found["platform-tools"]
    assert tools["status"] == "warn"
    assert "looked up without a shell: /bin/sh is missing" in tools["message"]
    # No shell, no builtin kill; /bin/bash is still there for the job API.
    assert (
        "missing in the image (looked up without a shell: /bin/sh is missing): sh, ps, kill, curl."
        in tools["message"]
    )
    assert "needs sh, ps, kill: it cannot stop the server cleanly by name." in tools["message"]


@pytest.fixture
def plain_registry(tmp_path: Path) -> Iterator[TestRegistry]:
    registry = TestRegistry(tmp_path / "registry", tls=False)
    registry.start()
    try:
        yield registry
    finally:
        registry.stop()


def test_a_pull_carries_the_registry_manifests_compressed_size(
    plain_registry: TestRegistry,
    docker_client: docker.DockerClient,
    build_image: Callable[[str], str],
) -> None:
    host = plain_registry.host
    digest = plain_registry.push(docker_client, build_image("good"), "team/good", "v1")
    layers = requests.get(
        f"{plain_registry.url}/v2/team/good/manifests/{digest}",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
        timeout=10,
    ).json()["layers"]
    ref = parse_reference(f"http://{host}/team/good:v1")
    access = RegistryAccess(insecure=frozenset({host}))
    try:
        source = locate(
            docker_client, ref, pull_policy="always", platform="linux/amd64", access=access
        )
        image, _ = fetch(docker_client, source, platform="linux/amd64", access=access)
    finally:
        with contextlib.suppress(docker.errors.ImageNotFound):
            docker_client.images.remove(f"{host}/team/good:v1")
    compressed = image.compressed_bytes
    assert compressed == sum(layer["size"] for layer in layers)
    # What a node downloads is well below what the engine unpacks.
    assert compressed is not None and 0 < compressed < image.size_bytes
