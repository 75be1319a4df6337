"""make-compatible end to end: real images built in the run, made compatible through
the real command, validated again, and the made images run to check what they hold.

One wheelhouse per session (pip download for the test images' Python) keeps the
builds offline and the pip step the same for every image.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import docker.errors
import pytest

from tests.support.cli import CliResult
from tests.support.images import JUPYTERHUB_VERSION

pytestmark = pytest.mark.docker

PROFILE = "dockerspawner"


def make_compatible(*args: str, timeout: float = 900) -> CliResult:
    proc = subprocess.run(
        [sys.executable, "-m", "validator.compat.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "NO_COLOR": "1"},
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture(scope="session")
def wheelhouse(
    docker_client: docker.DockerClient,
    build_image: Callable[[str], str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    """Wheels for the server env and ipykernel, for the Python of the test images."""
    version = (
        docker_client.containers.run(
            build_image("base"),
            ["python3", "-c", "import platform; print(platform.python_version())"],
            remove=True,
            network_mode="none",
        )
        .decode()
        .strip()
    )
    out = tmp_path_factory.mktemp("wheelhouse")
    subprocess.run(
        [
            sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
            "--only-binary=:all:", "--python-version", version, "--dest", str(out),
            f"jupyterhub=={JUPYTERHUB_VERSION}", "jupyterlab", "ipykernel",
        ],
        check=True,
        timeout=600,
    )  # fmt: skip
    return out


@pytest.fixture(scope="session")
def marked_ca(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A CA file carrying a marker outside its PEM blocks: grep finds it in an image."""
    marker = f"jhiv-compat-ca-marker-{uuid.uuid4().hex}"
    bundle = Path("/etc/ssl/certs/ca-certificates.crt")
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    path.write_text(f"# {marker}\n" + (bundle.read_text() if bundle.is_file() else ""))
    return path, marker


@pytest.fixture
def made_tag(docker_client: docker.DockerClient) -> Iterator[str]:
    """A unique tag for the made image; the image is removed afterwards."""
    tag = f"jhiv-compat-test/made:{uuid.uuid4().hex[:12]}"
    yield tag
    with contextlib.suppress(docker.errors.ImageNotFound):
        docker_client.images.remove(tag, force=True)


def run_made(client: docker.DockerClient, tag: str, script: str) -> str:
    return str(
        client.containers.run(
            tag, ["-c", script], entrypoint=["/bin/sh"], remove=True, network_mode="none"
        ).decode()
    )


def made(
    name: str,
    build_image: Callable[[str], str],
    wheelhouse: Path,
    tag: str,
    tmp_path: Path,
    *extra: str,
    profile: str = PROFILE,
) -> tuple[CliResult, dict]:  # type: ignore[type-arg]
    out = tmp_path / "outcome.json"
    result = make_compatible(
        build_image(name),
        "--profile", profile,
        "--wheelhouse", str(wheelhouse),
        "--tag", tag,
        "--json", str(out),
        *extra,
    )  # fmt: skip
    print(result.stdout)
    print(result.stderr, file=sys.stderr)
    keep = os.environ.get("JHIV_COMPAT_OUT")
    if keep:  # the before/after tables for a note, when asked for
        Path(keep).mkdir(parents=True, exist_ok=True)
        (Path(keep) / f"{name}-{profile}.txt").write_text(result.stdout)
    data = json.loads(out.read_text()) if out.exists() else {}
    return result, data


def failing(report: dict) -> set[str]:  # type: ignore[type-arg]
    return {f["id"] for f in report["findings"] if f["status"] == "fail"}


def test_no_python_at_all(
    build_image: Callable[[str], str],
    wheelhouse: Path,
    made_tag: str,
    tmp_path: Path,
    docker_client: docker.DockerClient,
    marked_ca: tuple[Path, str],
) -> None:
    ca, marker = marked_ca
    result, data = made("plain", build_image, wheelhouse, made_tag, tmp_path, "--ca-cert", str(ca))
    assert result.exit_code == 0, result.stderr
    assert "singleuser-installed" in failing(data["before"])
    assert failing(data["after"]) == set()
    assert [r["id"] for r in data["remedies"]] == ["server-env", "user", "start-command"]
    assert data["remedies"][0]["fixes"] == ["singleuser-installed"]
    assert "singleuser-installed  fail    pass" in result.stdout
    labels = docker_client.images.get(made_tag).labels
    assert labels["org.jupyterhub-image-validator.remedies"] == "server-env,user,start-command"
    assert labels["org.jupyterhub-image-validator.source-digest"].startswith("sha256:")
    # The CA reached the builder stage only: no file of the made image holds it.
    found = run_made(
        docker_client,
        made_tag,
        f"grep -rlF {marker} / --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev; "
        "ls -d /tmp/_build 2>/dev/null; true",
    )
    assert found.strip() == ""


def test_user_venv_is_the_kernel(
    build_image: Callable[[str], str],
    wheelhouse: Path,
    made_tag: str,
    tmp_path: Path,
    docker_client: docker.DockerClient,
) -> None:
    result, data = made("compat-user-venv", build_image, wheelhouse, made_tag, tmp_path)
    assert result.exit_code == 0, result.stderr
    assert "user-kernel" in [r["id"] for r in data["remedies"]]
    assert failing(data["after"]) == set()
    specs = json.loads(run_made(docker_client, made_tag, "jupyter kernelspec list --json"))
    argv = specs["kernelspecs"]["python3"]["spec"]["argv"]
    assert argv[0] == "/opt/analysis/bin/python3"
    # The kernel's interpreter imports the user's package (the server env has no numpy).
    assert (
        run_made(
            docker_client, made_tag, f"{argv[0]} -c 'import numpy; print(numpy.__version__)'"
        ).strip()
        == "2.2.6"
    )
    assert (
        run_made(
            docker_client,
            made_tag,
            "/opt/jhiv-server/bin/python -c 'import numpy' 2>&1 || echo absent",
        )
        .strip()
        .endswith("absent")
    )


def test_jupyterlab_without_jupyterhub(
    build_image: Callable[[str], str], wheelhouse: Path, made_tag: str, tmp_path: Path
) -> None:
    result, data = made("compat-lab-only", build_image, wheelhouse, made_tag, tmp_path)
    assert result.exit_code == 0, result.stderr
    assert {"singleuser-installed"} <= failing(data["before"])
    assert failing(data["after"]) == set()
    ids = [r["id"] for r in data["remedies"]]
    assert "server-env" in ids and "start-command" in ids
    assert 'CMD ["jupyterhub-singleuser"]' in data["dockerfile"]


def test_existing_uid_1000_user_is_reused(
    build_image: Callable[[str], str],
    wheelhouse: Path,
    made_tag: str,
    tmp_path: Path,
    docker_client: docker.DockerClient,
) -> None:
    result, data = made("compat-other-user", build_image, wheelhouse, made_tag, tmp_path)
    assert result.exit_code == 0, result.stderr
    assert failing(data["after"]) == set()
    config = docker_client.images.get(made_tag).attrs["Config"]
    assert config["User"] == "analyst"
    assert "jovyan" not in run_made(docker_client, made_tag, "cat /etc/passwd")


def test_root_with_a_shell_entrypoint_that_does_not_exec(
    build_image: Callable[[str], str],
    wheelhouse: Path,
    made_tag: str,
    tmp_path: Path,
    docker_client: docker.DockerClient,
) -> None:
    result, data = made("compat-root-entrypoint", build_image, wheelhouse, made_tag, tmp_path)
    assert result.exit_code == 0, result.stderr
    assert failing(data["after"]) == set()
    config = docker_client.images.get(made_tag).attrs["Config"]
    # The entrypoint passes its arguments on: kept, behind tini.
    assert config["Entrypoint"] == ["/usr/bin/tini", "-g", "--", "/usr/local/bin/entry.sh"]
    assert config["Cmd"] == ["jupyterhub-singleuser"]
    assert config["User"] == "jovyan"


def test_no_package_manager_and_no_python_is_refused(
    build_image: Callable[[str], str],
    wheelhouse: Path,
    made_tag: str,
    tmp_path: Path,
    docker_client: docker.DockerClient,
) -> None:
    result, data = made("compat-unfixable", build_image, wheelhouse, made_tag, tmp_path)
    assert result.exit_code == 1, result.stderr
    assert "Cannot be made to pass" in result.stdout
    assert "no package manager" in result.stdout
    assert data["unfixable"][0]["check"] == "singleuser-installed"
    with pytest.raises(docker.errors.ImageNotFound):
        docker_client.images.get(made_tag)


def test_an_image_that_passes_is_left_alone(
    build_image: Callable[[str], str],
    wheelhouse: Path,
    made_tag: str,
    tmp_path: Path,
    docker_client: docker.DockerClient,
) -> None:
    result, data = made("good", build_image, wheelhouse, made_tag, tmp_path)
    assert result.exit_code == 0, result.stderr
    assert "nothing to change" in result.stdout
    assert data["already_passes"] and data["remedies"] == [] and data["dockerfile"] is None
    with pytest.raises(docker.errors.ImageNotFound):
        docker_client.images.get(made_tag)


def test_dockerfile_only_writes_the_context(
    build_image: Callable[[str], str],
    wheelhouse: Path,
    made_tag: str,
    tmp_path: Path,
    docker_client: docker.DockerClient,
) -> None:
    out = tmp_path / "ctx"
    result, _ = made(
        "plain", build_image, wheelhouse, made_tag, tmp_path, "--dockerfile-only", str(out)
    )
    assert result.exit_code == 0, result.stderr
    assert (
        "FROM docker.io/jhiv-test/plain:latest AS prepared" in (out / "Dockerfile").read_text()
        or "jhiv-test/plain" in (out / "Dockerfile").read_text()
    )
    assert (out / "_build" / "env-install.sh").is_file()
    assert (out / "_build" / "ca.pem").read_bytes() == b""
    with pytest.raises(docker.errors.ImageNotFound):
        docker_client.images.get(made_tag)


def test_bad_reference_is_one_line_exit_2() -> None:
    result = make_compatible("Not A Reference!!")
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_jupyter4nfdi_adds_what_its_platform_runs(
    build_image: Callable[[str], str], wheelhouse: Path, made_tag: str, tmp_path: Path
) -> None:
    """Over internal SSL, with the image's own command and the platform's tools."""
    result, data = made(
        "compat-other-user", build_image, wheelhouse, made_tag, tmp_path, profile="jupyter4nfdi"
    )
    assert result.exit_code == 0, result.stderr
    assert failing(data["after"]) == set()
    assert {"server-env", "user", "start-command", "platform-tools"} <= {
        r["id"] for r in data["remedies"]
    }
    # Also under the job API's login shell (`bash -lc`), which resets PATH.
    statuses = {f["status"] for f in data["after"]["findings"] if f["id"] == "singleuser-installed"}
    assert statuses == {"pass"}
    assert {f["status"] for f in data["after"]["findings"] if f["id"] == "platform-tools"} == {
        "pass"
    }
