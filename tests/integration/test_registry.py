"""Private registries end to end: a real registry (CNCF distribution) with a bcrypt login
and TLS from a CA made for the run, test images pushed to it, and ``validate-image`` run
as a user types it. The password must appear in no output, report or process argument.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import docker
import docker.errors
import pytest

from tests.support.registry import REGISTRY_BIN, TestRegistry, free_port
from tests.support.skip import unavailable

pytestmark = pytest.mark.docker

PASSWORD = "jhiv-" + secrets.token_urlsafe(18)
USER = "jhiv-user"


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestRegistry]:
    for tool in (REGISTRY_BIN, "htpasswd", "openssl"):
        if shutil.which(tool) is None:
            unavailable(f"{tool} is missing: run scripts/setup-registry.sh")
    reg = TestRegistry(tmp_path_factory.mktemp("registry"), username=USER, password=PASSWORD)
    STARTED.add(reg.host)
    try:
        reg.start()
        assert reg.ca_cert is not None
        # The machine trusts the registry's CA, as after update-ca-certificates: the
        # system bundle plus the test CA, given to the validator as REQUESTS_CA_BUNDLE.
        system = Path(ssl.get_default_verify_paths().cafile or "/etc/ssl/certs/ca-certificates.crt")
        TRUSTED.write_bytes(
            (system.read_bytes() if system.is_file() else b"") + b"\n" + reg.ca_cert.read_bytes()
        )
        yield reg
    finally:
        reg.stop()
        TRUSTED.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def pushed(
    registry: TestRegistry, docker_client: docker.DockerClient, build_image: Callable[[str], str]
) -> dict[str, str]:
    """team/plain:v1 and team/good:v1 on the registry -> their manifest digests."""
    return {
        name: registry.push(docker_client, build_image(name), f"team/{name}", "v1")
        for name in ("plain", "good")
    }


# The hosts of the registries this module started; their images are pulled by the tests.
STARTED: set[str] = set()
TRUSTED = Path(tempfile.gettempdir()) / f"jhiv-trusted-{os.getpid()}.pem"


@pytest.fixture(autouse=True)
def no_local_copies(docker_client: docker.DockerClient) -> Iterator[None]:
    """Every validation must pull: remove what a test pulled from our registries."""
    yield
    for image in docker_client.images.list():
        for tag in image.tags:
            if tag.split("/")[0] in STARTED:
                with contextlib.suppress(docker.errors.ImageNotFound):
                    docker_client.images.remove(tag)


@dataclass
class Watched:
    exit_code: int
    stdout: str
    stderr: str
    # Every process argument vector seen on the machine while the command ran.
    argvs: set[str] = field(default_factory=set)
    seconds: float = 0.0


def _argvs() -> set[str]:
    seen: set[str] = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                seen.add(
                    (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                )
            except OSError:
                continue
    return seen


def run_watched(
    *args: str,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
    cache_home: Path,
    timeout: float = 300,
) -> Watched:
    """Run ``validate-image`` and sample the process table until it exits."""
    full_env = {
        **os.environ,
        "NO_COLOR": "1",
        "XDG_CACHE_HOME": str(cache_home),
        **({"REQUESTS_CA_BUNDLE": str(TRUSTED)} if TRUSTED.is_file() else {}),
        **(env or {}),
    }
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "validator", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=full_env,
    )
    outputs: dict[str, str] = {}

    def talk() -> None:
        outputs["out"], outputs["err"] = proc.communicate(stdin, timeout=timeout)

    talker = threading.Thread(target=talk)
    talker.start()
    argvs: set[str] = set()
    while talker.is_alive():
        argvs |= _argvs()
        time.sleep(0.02)
    talker.join()
    return Watched(
        proc.returncode, outputs["out"], outputs["err"], argvs, time.monotonic() - started
    )


def assert_no_secret(*texts: str) -> None:
    # The password itself, and the Basic header a debug dump of a request would show.
    basic = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    for text in texts:
        assert PASSWORD not in text
        assert basic not in text


def user_args(registry: TestRegistry, image: str) -> list[str]:
    """The command as the README shows it (the machine trusts the registry's CA)."""
    return [
        f"https://{registry.host}/{image}",
        "--registry",
        f"https://{registry.host}",
        "--username",
        USER,
        "--password-stdin",
    ]


# --- the right login ----------------------------------------------------------------


def test_plain_image_with_token_is_incompatible_and_reports_the_digest(
    registry: TestRegistry, pushed: dict[str, str], tmp_path: Path
) -> None:
    report, junit = tmp_path / "report.json", tmp_path / "junit.xml"
    result = run_watched(
        *user_args(registry, "team/plain:v1"),
        "--format", "json", "--output", str(report), "--junit", str(junit), "-vv",
        stdin=PASSWORD + "\n",
        cache_home=tmp_path / "cache",
    )  # fmt: skip
    assert result.exit_code == 1, result.stderr
    document = json.loads(report.read_text())
    assert document["verdict"] == "incompatible"
    assert {f["id"] for f in document["findings"] if f["status"] == "fail"} == {
        "singleuser-installed"
    }
    assert document["reference"] == f"{registry.host}/team/plain:v1"
    assert document["digest"] == pushed["plain"]
    assert document["cached"] is False
    assert pushed["plain"] in junit.read_text()
    # A pipe, not a terminal: quiet lines, not a redrawn bar.
    assert f"Pulling {registry.host}/team/plain:v1 for linux/amd64" in result.stderr
    assert "\r" not in result.stderr
    assert_no_secret(result.stdout, result.stderr, report.read_text(), junit.read_text())
    assert_no_secret(*result.argvs)


def test_good_image_with_token_is_compatible(
    registry: TestRegistry, pushed: dict[str, str], tmp_path: Path
) -> None:
    result = run_watched(
        *user_args(registry, "team/good:v1"),
        "--format", "json", "--pull", "always",
        stdin=PASSWORD,
        cache_home=tmp_path / "cache",
    )  # fmt: skip
    assert result.exit_code == 0, result.stdout + result.stderr
    document = json.loads(result.stdout)
    assert document["verdict"] == "compatible"
    assert document["digest"] == pushed["good"]
    assert_no_secret(result.stdout, result.stderr, *result.argvs)


def test_text_report_shows_the_digest_and_the_password_stays_hidden(
    registry: TestRegistry, pushed: dict[str, str], tmp_path: Path
) -> None:
    result = run_watched(
        *user_args(registry, "team/plain:v1"),
        "--static-only",
        stdin=PASSWORD,
        cache_home=tmp_path / "cache",
    )
    assert result.exit_code == 1, result.stderr
    assert pushed["plain"] in result.stdout
    assert_no_secret(result.stdout, result.stderr, *result.argvs)


def test_password_from_the_environment(
    registry: TestRegistry, pushed: dict[str, str], tmp_path: Path
) -> None:
    args = [a for a in user_args(registry, "team/plain:v1") if a != "--password-stdin"]
    result = run_watched(
        *args,
        "--static-only",
        env={"JHIV_REGISTRY_PASSWORD": PASSWORD},
        cache_home=tmp_path / "cache",
    )
    assert result.exit_code == 1, result.stderr
    assert_no_secret(result.stdout, result.stderr)


def test_login_stored_by_docker_login(
    registry: TestRegistry, pushed: dict[str, str], tmp_path: Path
) -> None:
    config = registry.docker_config(tmp_path / "docker-config")
    result = run_watched(
        f"{registry.host}/team/plain:v1",
        "--static-only",
        "--format",
        "json",
        env={"DOCKER_CONFIG": str(config)},
        cache_home=tmp_path / "cache",
    )
    assert result.exit_code == 1, result.stderr
    assert json.loads(result.stdout)["digest"] == pushed["plain"]
    assert_no_secret(result.stdout, result.stderr)


# --- the cache ----------------------------------------------------------------------


def test_same_digest_is_not_validated_twice(
    registry: TestRegistry, pushed: dict[str, str], tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    first = run_watched(
        *user_args(registry, "team/plain:v1"), "--format", "json",
        stdin=PASSWORD, cache_home=cache,
    )  # fmt: skip
    second = run_watched(
        *user_args(registry, "team/plain:v1"), "--format", "json",
        stdin=PASSWORD, cache_home=cache,
    )  # fmt: skip
    again = run_watched(
        *user_args(registry, "team/plain:v1"), "--format", "json", "--no-cache",
        stdin=PASSWORD, cache_home=cache,
    )  # fmt: skip
    for result in (first, second, again):
        assert result.exit_code == 1, result.stderr
    one, two, three = (json.loads(r.stdout) for r in (first, second, again))
    assert (one["cached"], two["cached"], three["cached"]) == (False, True, False)
    assert two["digest"] == one["digest"] == pushed["plain"]
    assert two["findings"] == one["findings"]
    assert "cached result" in second.stderr and "--no-cache" in second.stderr
    assert "cached result" not in first.stderr + again.stderr
    # A hit is found from the registry's digest: no pull.
    assert "Pulling" not in second.stderr
    print(
        f"\nuncached {first.seconds:.2f} s, cached {second.seconds:.2f} s, "
        f"--no-cache {again.seconds:.2f} s"
    )


# --- errors -------------------------------------------------------------------------


def _one_error_line(result: Watched) -> str:
    lines = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_wrong_password_is_an_auth_error_naming_registry_and_user(
    registry: TestRegistry, pushed: dict[str, str], tmp_path: Path
) -> None:
    wrong = PASSWORD + "-wrong"
    result = run_watched(
        *user_args(registry, "team/plain:v1"), "-vv", stdin=wrong, cache_home=tmp_path / "cache"
    )
    assert result.exit_code == 2
    line = _one_error_line(result)
    assert "authentication failed" in line
    assert registry.host in line and repr(USER) in line
    assert result.stdout == ""
    for text in (result.stderr, *result.argvs):
        assert wrong not in text
    assert_no_secret(result.stderr, *result.argvs)


def test_no_login_for_a_protected_registry(
    registry: TestRegistry, pushed: dict[str, str], tmp_path: Path
) -> None:
    result = run_watched(
        f"{registry.host}/team/plain:v1",
        env={"DOCKER_CONFIG": str(tmp_path / "empty")},
        cache_home=tmp_path / "cache",
    )
    assert result.exit_code == 2
    line = _one_error_line(result)
    assert "requires a login" in line and "--password-stdin" in line


def test_password_as_argument_is_refused(tmp_path: Path) -> None:
    result = run_watched(
        "127.0.0.1:5000/team/plain:v1", "--username", USER, "--password", "hunter2",
        cache_home=tmp_path / "cache",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "--password-stdin" in result.stderr
    assert "hunter2" not in result.stderr + result.stdout


def test_untrusted_certificate_offers_ca_cert_which_then_works(
    registry: TestRegistry, pushed: dict[str, str], tmp_path: Path
) -> None:
    # A machine that trusts only the public CAs.
    public = {"REQUESTS_CA_BUNDLE": ssl.get_default_verify_paths().cafile or ""}
    args = user_args(registry, "team/plain:v1")
    refused = run_watched(*args, stdin=PASSWORD, env=public, cache_home=tmp_path / "cache")
    assert refused.exit_code == 2
    line = _one_error_line(refused)
    assert "TLS verification" in line and registry.host in line and "--ca-cert" in line
    trusted = run_watched(
        *args, "--ca-cert", str(registry.ca_cert), "--static-only",
        stdin=PASSWORD, env=public, cache_home=tmp_path / "cache",
    )  # fmt: skip
    assert trusted.exit_code == 1, trusted.stderr


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("team/plain:nope", "no tag 'nope'"),
        ("team/absent:v1", "no repository 'team/absent'"),
    ],
)
def test_missing_tag_or_repository(
    registry: TestRegistry, pushed: dict[str, str], tmp_path: Path, image: str, expected: str
) -> None:
    result = run_watched(*user_args(registry, image), stdin=PASSWORD, cache_home=tmp_path / "c")
    assert result.exit_code == 2
    line = _one_error_line(result)
    assert expected in line and registry.host in line
    if "nope" in image:
        assert "v1" in line  # the tags it has


def test_unreachable_registry(tmp_path: Path) -> None:
    host = f"127.0.0.1:{free_port()}"
    result = run_watched(
        f"https://{host}/team/plain:v1", "--username", USER, "--password-stdin",
        stdin=PASSWORD, cache_home=tmp_path / "cache",
    )  # fmt: skip
    assert result.exit_code == 2
    line = _one_error_line(result)
    assert "unreachable" in line and host in line


def test_no_manifest_for_the_hubs_platform(
    registry: TestRegistry, pushed: dict[str, str], tmp_path: Path
) -> None:
    # An index that offers only linux/arm64 (it points at the plain image's manifest).
    size = registry.manifest_size("team/plain", pushed["plain"])
    registry.put_index(
        "team/plain",
        "arm-only",
        [
            {
                "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "digest": pushed["plain"],
                "size": size,
                "platform": {"os": "linux", "architecture": "arm64"},
            }
        ],
    )
    result = run_watched(
        *user_args(registry, "team/plain:arm-only"), stdin=PASSWORD, cache_home=tmp_path / "c"
    )
    assert result.exit_code == 2
    line = _one_error_line(result)
    assert "no image for linux/amd64" in line and "linux/arm64" in line


def test_image_on_another_registry_than_the_login(
    registry: TestRegistry, pushed: dict[str, str], tmp_path: Path
) -> None:
    result = run_watched(
        "team/plain:v1", "--registry", registry.url, "--username", USER, "--password-stdin",
        stdin=PASSWORD, cache_home=tmp_path / "cache",
    )  # fmt: skip
    assert result.exit_code == 2
    line = _one_error_line(result)
    assert "docker.io" in line and f"{registry.host}/team/plain:v1" in line  # the full path


# --- plain HTTP ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def http_registry(
    tmp_path_factory: pytest.TempPathFactory,
    docker_client: docker.DockerClient,
    build_image: Callable[[str], str],
    registry: TestRegistry,  # the binaries are checked there
) -> Iterator[TestRegistry]:
    reg = TestRegistry(tmp_path_factory.mktemp("http-registry"), password="", tls=False)
    STARTED.add(reg.host)
    try:
        reg.start()
        reg.push(docker_client, build_image("plain"), "team/plain", "v1")
        yield reg
    finally:
        reg.stop()


def test_plain_http_only_with_insecure_registry(
    http_registry: TestRegistry, tmp_path: Path
) -> None:
    image = f"http://{http_registry.host}/team/plain:v1"
    refused = run_watched(image, "--static-only", cache_home=tmp_path / "cache")
    assert refused.exit_code == 2
    line = _one_error_line(refused)
    assert "plain HTTP" in line and f"--insecure-registry {http_registry.host}" in line
    allowed = run_watched(
        image, "--static-only", "--insecure-registry", http_registry.host,
        cache_home=tmp_path / "cache",
    )  # fmt: skip
    assert allowed.exit_code == 1, allowed.stderr
