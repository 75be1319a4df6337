"""The known-good images: one ``build-images build`` command builds foundation and base
for hub 5.4.6 on the root image, validates base under jupyter4nfdi and writes the
manifests; then the behaviours users rely on are checked on the image itself.

The build reuses the layer cache: a no-change rebuild takes seconds, a cold one a
few minutes (bench/build_bench.py measures both).
"""

from __future__ import annotations

import hashlib
import json
import os

import docker
import pytest

from tests.support.base_image import (
    BASE,
    HUB,
    PREFIX,
    Built,
    container,
    health,
    run_once,
    wait_for,
)
from tests.support.images import ROOT_IMAGE

pytestmark = pytest.mark.docker

DOCKER_STACKS_BASE_NOTEBOOK_MB = 828  # after docker-stacks #2172


def test_one_command_builds_validates_and_describes(built: Built) -> None:
    assert set(built.manifests) == {"foundation", f"base-hub-{HUB}"}
    base = built.manifests[f"base-hub-{HUB}"]
    assert base["validation"]["profile"] == "jupyter4nfdi"
    assert base["validation"]["hub_version"] == HUB
    assert base["validation"]["verdict"] == "compatible"
    assert base["jupyter"]["jupyterhub"] == HUB
    assert {"jupyterlab", "notebook", "ipykernel"} <= set(base["jupyter"])
    assert "hub-5.4.6" in base["tags"] and "latest" in base["tags"]
    assert any(p["name"] == "tini" for p in base["apt_packages"])
    assert (
        (built.out / "manifests" / f"base-hub-{HUB}.md")
        .read_text()
        .startswith(f"# {PREFIX}/base:hub-{HUB}")
    )
    # Smaller than docker-stacks' base-notebook with the same Jupyter packages.
    assert base["size_bytes"] / 1e6 < DOCKER_STACKS_BASE_NOTEBOOK_MB


def test_tini_is_pid_1(built: Built, docker_client: docker.DockerClient) -> None:
    assert run_once(docker_client, ["cat", "/proc/1/comm"]).strip().endswith("tini")


def test_root_with_nb_uid_drops_to_that_uid_with_a_writable_home(
    built: Built, docker_client: docker.DockerClient
) -> None:
    output = run_once(
        docker_client,
        ["bash", "-c", 'id -u; touch "$HOME/probe" && echo "HOME $HOME writable"'],
        user="root",
        environment={"NB_UID": "1010"},
    )
    assert "\n1010\n" in f"\n{output}", output
    assert "HOME /home/jovyan writable" in output


def test_server_started_as_root_runs_as_nb_uid_and_turns_healthy(
    built: Built, docker_client: docker.DockerClient
) -> None:
    with container(docker_client, user="root", environment={"NB_UID": "1010"}) as c:
        wait_for(lambda: health(c) == "healthy", 90, "healthy", lambda: c.logs()[-2000:])
        # The server's processes (command name jupyter-*) run as 1010, none as root.
        code, out = c.exec_run(
            [
                "bash",
                "-c",
                "for p in /proc/[0-9]*; do grep -q '^jupyter' $p/comm 2>/dev/null"
                " && stat -c %u $p; done",
            ]
        )
        uids = set(out.decode().split())
        assert code == 0 and uids == {"1010"}, out


def test_healthcheck_turns_healthy(built: Built, docker_client: docker.DockerClient) -> None:
    with container(docker_client) as c:
        wait_for(lambda: health(c) == "healthy", 90, "healthy", lambda: c.logs()[-2000:])


def test_hub_token_hands_the_default_cmd_over_to_singleuser(
    built: Built, docker_client: docker.DockerClient
) -> None:
    env = {
        "JUPYTERHUB_API_TOKEN": "not-a-real-token",
        "JUPYTERHUB_API_URL": "http://127.0.0.1:1/hub/api",
        "JUPYTERHUB_SERVICE_PREFIX": "/user/ci/",
    }
    with container(docker_client, environment=env, network_mode="none") as c:

        def logs() -> str:
            return str(c.logs().decode("utf-8", "replace"))

        wait_for(lambda: "Executing: jupyterhub-singleuser" in logs(), 60, "handover", logs)
        assert "start-notebook.py: JUPYTERHUB_API_TOKEN is set" in logs()


def test_python3_kernelspec_exists(built: Built, docker_client: docker.DockerClient) -> None:
    output = run_once(docker_client, ["jupyter", "kernelspec", "list", "--json"])
    specs = json.loads(output[output.index("{") :])["kernelspecs"]
    assert "python3" in specs


def test_ca_bundle_is_not_in_the_image_nor_its_history(
    built: Built, docker_client: docker.DockerClient
) -> None:
    if built.ca is None:
        pytest.skip("the build used no CA bundle")
    history = json.dumps(docker_client.api.history(BASE))
    assert "_build" not in history and "ca.pem" not in history
    digest = hashlib.sha256(built.ca.read_bytes()).hexdigest()
    size = built.ca.stat().st_size
    # Any file of the CA's exact size is hashed: none may be the CA itself.
    output = run_once(
        docker_client,
        ["bash", "-c", f"find / -xdev -type f -size {size}c -exec sha256sum {{}} + ; true"],
        user="root",
    )
    assert digest not in output
    assert "/tmp/_build" not in run_once(docker_client, ["ls", "-a", "/tmp"])


def test_manifest_records_build_inputs(built: Built) -> None:
    inputs = built.manifests[f"base-hub-{HUB}"]["inputs"]
    assert inputs["root_image"] == ROOT_IMAGE
    assert inputs["parent"] == "foundation"
    assert len(inputs["dockerfile_sha256"]) == 64
    if os.environ.get("CI"):
        assert inputs["commit"]
