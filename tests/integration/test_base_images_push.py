"""``build-images build --push`` against a real registry: CNCF distribution with a bcrypt
login and TLS from a CA made for the run (tests/support/registry.py).

The build takes test_base_images.py's arguments (hub, root image, CA bundle), so its
layers are cache hits and the images are the ones that test checks; only the
repository prefix differs, and it names the registry. What was pushed is then read
back through the registry's HTTP API, not through the engine that pushed it.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest
import requests

from tests.support.base_image import HUB, ca_bundle
from tests.support.images import ROOT_IMAGE
from tests.support.registry import REGISTRY_BIN, TestRegistry
from tests.support.skip import unavailable

pytestmark = pytest.mark.docker

USER = "jhiv-pusher"
PASSWORD = "jhiv-" + secrets.token_urlsafe(18)
BASE_KEY = f"base-hub-{HUB}"
# What a registry may answer for a single-platform image; the engine pushes the first.
MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
    )
)


@dataclass(frozen=True)
class Pushed:
    registry: TestRegistry
    prefix: str
    exit_code: int
    stdout: str
    stderr: str
    seconds: float
    out: Path
    manifests: dict[str, dict[str, Any]]

    def repository(self, key: str) -> str:
        """The path of an image inside the registry: ``team/base``."""
        name = self.manifests[key]["repository"]
        assert name.startswith(f"{self.registry.host}/"), name
        return str(name[len(self.registry.host) + 1 :])


def push_command(prefix: str, out: Path) -> list[str]:
    """``build-images build base --push`` as a user types it, the password on stdin."""
    command = [
        sys.executable, "-m", "validator.images", "build", "base",
        "--hub", HUB,
        "--root-image", ROOT_IMAGE,
        "--repository-prefix", prefix,
        "--out", str(out),
        "--push", "--username", USER, "--password-stdin",
    ]  # fmt: skip
    ca = ca_bundle()
    if ca is not None:
        command += ["--ca-cert", str(ca)]
    return command


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestRegistry]:
    for tool in (REGISTRY_BIN, "htpasswd", "openssl"):
        if shutil.which(tool) is None:
            unavailable(f"{tool} is missing: run scripts/setup-registry.sh")
    reg = TestRegistry(tmp_path_factory.mktemp("push-registry"), username=USER, password=PASSWORD)
    try:
        yield reg.start()
    finally:
        reg.stop()


@pytest.fixture(scope="module")
def pushed(
    registry: TestRegistry,
    docker_client: docker.DockerClient,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Pushed]:
    out = tmp_path_factory.mktemp("build-images-push")
    prefix = f"{registry.host}/team"
    command = push_command(prefix, out)
    started = time.monotonic()
    try:
        proc = subprocess.run(
            command,
            input=PASSWORD + "\n",
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
        seconds = time.monotonic() - started
        print(f"build-images build base --hub {HUB} --push: {seconds:.1f} s\n{proc.stdout}")
        manifests = {
            path.stem: json.loads(path.read_text()) for path in (out / "manifests").glob("*.json")
        }
        yield Pushed(
            registry, prefix, proc.returncode, proc.stdout, proc.stderr, seconds, out, manifests
        )
    finally:
        # The images stay (they are test_base_images.py's too); only the names under
        # this run's registry, whose port is never used again, go.
        for image in docker_client.images.list():
            for tag in image.tags:
                if tag.startswith(f"{registry.host}/"):
                    with contextlib.suppress(docker.errors.NotFound):
                        docker_client.api.remove_image(tag, noprune=True)


def api(pushed: Pushed, path: str, *, login: bool = True, accept: str = "") -> requests.Response:
    """A request to the registry's v2 API, TLS verified against the test CA only."""
    reg = pushed.registry
    assert reg.ca_cert is not None
    return requests.get(
        f"{reg.url}/v2/{path}",
        auth=(USER, PASSWORD) if login else None,
        headers={"Accept": accept} if accept else {},
        verify=str(reg.ca_cert),
        timeout=30,
    )


def test_push_succeeds_for_every_image(pushed: Pushed) -> None:
    assert pushed.exit_code == 0, pushed.stdout + pushed.stderr[-4000:]
    assert set(pushed.manifests) == {"foundation", BASE_KEY}
    assert f"{pushed.prefix}/base:hub-{HUB}" in pushed.stdout
    assert f"Pushing {pushed.prefix}/base" in pushed.stderr


def test_registry_holds_every_tag_of_base(pushed: Pushed) -> None:
    manifest = pushed.manifests[BASE_KEY]
    expected = {
        f"hub-{HUB}",
        f"hub-{HUB}-python-3.11",
        "latest",
        "python-3.11",
        # The date is the build's (UTC), as recorded; it may differ from today's.
        next(t for t in manifest["tags"] if t.startswith(f"hub-{HUB}-20")),
    }
    assert expected <= set(manifest["tags"])
    response = api(pushed, f"{pushed.repository(BASE_KEY)}/tags/list")
    assert response.status_code == 200, response.text
    assert set(response.json()["tags"]) == set(manifest["tags"])


@pytest.mark.parametrize("key", ["foundation", BASE_KEY])
def test_every_tag_names_the_digest_in_the_manifest(pushed: Pushed, key: str) -> None:
    manifest = pushed.manifests[key]
    digest = manifest["digest"]
    assert isinstance(digest, str) and digest.startswith("sha256:"), manifest.get("digest")
    repository = pushed.repository(key)
    for tag in manifest["tags"]:
        response = api(pushed, f"{repository}/manifests/{tag}", accept=MANIFEST_TYPES)
        assert response.status_code == 200, (tag, response.text)
        assert response.headers["Docker-Content-Digest"] == digest, tag
    # The digest is of the bytes the registry serves, and that manifest is the image
    # that was built and validated: its config digest is the local image id.
    body = api(pushed, f"{repository}/manifests/{digest}", accept=MANIFEST_TYPES)
    assert "sha256:" + hashlib.sha256(body.content).hexdigest() == digest
    assert body.json()["config"]["digest"] == manifest["image_id"]


def test_the_registry_requires_the_login(pushed: Pushed) -> None:
    # The tags above could only have arrived with the credentials from stdin.
    response = api(pushed, f"{pushed.repository(BASE_KEY)}/tags/list", login=False)
    assert response.status_code == 401


def test_the_password_is_in_no_output_manifest_or_report(pushed: Pushed) -> None:
    basic = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    texts = {"stdout": pushed.stdout, "stderr": pushed.stderr}
    texts |= {
        str(path.relative_to(pushed.out)): path.read_text(errors="replace")
        for path in pushed.out.rglob("*")
        if path.is_file()
    }
    assert any(name.startswith("reports/") for name in texts), sorted(texts)
    assert any(name.startswith("manifests/") for name in texts), sorted(texts)
    for name, text in texts.items():
        assert PASSWORD not in text, name
        assert basic not in text, name


def test_a_refused_login_fails_the_run_and_names_the_cause(pushed: Pushed, tmp_path: Path) -> None:
    # After the good push, so the registry has the repositories and only the login is wrong.
    wrong = "jhiv-wrong-" + secrets.token_urlsafe(12)
    out = tmp_path / "out"
    proc = subprocess.run(
        push_command(pushed.prefix, out),
        input=wrong + "\n",
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    # The foundation is pushed first: its refusal ends the run before base is validated.
    assert proc.returncode == 2, proc.stdout  # a refused push is a tool error
    assert f"pushing {pushed.prefix}/foundation:latest failed: unauthorized" in proc.stdout
    summary = {
        line.split()[0]: line.split()[1] for line in proc.stdout.splitlines() if line[:1] != " "
    }
    assert summary == {"foundation": "error", BASE_KEY: "skipped"}, proc.stdout
    assert not (out / "manifests").exists() or not any((out / "manifests").iterdir())
    for text in (proc.stdout, proc.stderr):
        assert wrong not in text and PASSWORD not in text
    # What the good run pushed is untouched.
    tags = api(pushed, f"{pushed.repository(BASE_KEY)}/tags/list").json()["tags"]
    assert set(tags) == set(pushed.manifests[BASE_KEY]["tags"])
