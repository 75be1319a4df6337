"""Internal SSL as JupyterHub's ``internal_ssl = True`` runs a server: real images, real
Docker, the real ``validate-image`` command.

A hub-ready image serves HTTPS from the mounted certificates, demands the client
certificate and runs a kernel over wss; an image whose wrapper strips JUPYTERHUB_SSL_*
passes without internal SSL and fails with it, the cause named.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Callable
from pathlib import Path

import docker
import pytest
import requests

from tests.support.cli import run_cli
from tests.support.reports import findings_by_id
from validator.image import ImageInfo
from validator.profiles import CommandMode, load_profile
from validator.runtime.hubstub import StubHub
from validator.runtime.sandbox import Sandbox
from validator.runtime.spawn import hub_environment, start_candidate, wait_until_up
from validator.runtime.tls import CA_FILE, CERT_FILE, KEY_FILE

pytestmark = pytest.mark.docker


def _report(image: str, profile: str, tmp_path: Path) -> tuple[int, dict[str, dict[str, str]]]:
    out = tmp_path / f"{profile}.json"
    result = run_cli(image, "--profile", profile, "--format", "json", "--output", str(out))
    assert out.exists(), (result.exit_code, result.stderr[-2000:])
    report = json.loads(out.read_text())
    return result.exit_code, findings_by_id(report)


@pytest.mark.parametrize("name", ["good", "good-entrypoint", "server-no-ui"])
def test_hub_ready_images_pass_over_mutual_tls(
    name: str, build_image: Callable[[str], str], tmp_path: Path
) -> None:
    code, findings = _report(build_image(name), "jupyter4nfdi", tmp_path)
    failing = {k: f["message"] for k, f in findings.items() if f["status"] == "fail"}
    assert failing == {}
    assert code == 0
    for check in ("server-starts", "server-api", "token-auth", "kernel-runs", "stability"):
        assert findings[check]["status"] == "pass", findings[check]


def test_a_server_that_ignores_the_ssl_environment_fails_only_with_internal_ssl(
    build_image: Callable[[str], str], tmp_path: Path
) -> None:
    image = build_image("ignores-ssl")
    code, _ = _report(image, "dockerspawner", tmp_path)
    assert code == 0
    code, findings = _report(image, "jupyter4nfdi", tmp_path)
    assert code == 1
    failing = {k for k, f in findings.items() if f["status"] == "fail"}
    assert failing == {"server-starts"}
    starts = findings["server-starts"]
    assert "JUPYTERHUB_SSL_CLIENT_CA" in starts["message"], starts
    assert "internal_ssl" in starts["message"]
    assert "must not unset" in starts["fix"]


def test_the_server_demands_the_client_certificate_and_reads_read_only_certs(
    docker_client: docker.DockerClient, build_image: Callable[[str], str]
) -> None:
    """What the probes rely on, seen directly: the spawn's certificates reach the
    server read-only and readable for any uid, and the server refuses a client
    without a certificate from the hub's CA (JUPYTERHUB_SSL_CLIENT_CA)."""
    profile = load_profile("jupyter4nfdi").for_spawn()
    image = ImageInfo.from_inspect(docker_client.images.get(build_image("good")).attrs)
    token = secrets.token_hex(16)
    with Sandbox(docker_client) as sandbox:
        network = sandbox.network()
        network.reload()
        gateway = network.attrs["IPAM"]["Config"][0]["Gateway"]
        with StubHub(
            profile.hub_version,
            profile.user_name,
            profile.server_name,
            token,
            bind_host=gateway,
            internal_ssl=True,
        ) as hub:
            sandbox.fences[network.name].allow(hub.port)
            assert hub.api_url.startswith("https://")
            env = hub_environment(profile, hub, token=token)
            candidate = start_candidate(
                sandbox,
                image,
                profile,
                CommandMode.IMAGE,
                network=network.name,
                env=env,
                token=token,
                user=None,
                hub=hub,
            )
            up = wait_until_up(
                candidate, 120, ready_banner="is running at", cancel=threading.Event()
            )
            assert up.seconds is not None, candidate.logs()
            assert candidate.url.startswith("https://")
            assert hub.contacted  # the server verified the stub hub with the mounted CA

            tls = candidate.tls
            assert tls is not None
            with tls.session() as no_cert:
                no_cert.cert = None  # the CA and the name checked, no client certificate
                with pytest.raises(requests.exceptions.ConnectionError):
                    no_cert.get(candidate.url + "api", timeout=10)
            with candidate.session() as session:
                assert session.get(candidate.url + "api", timeout=10).status_code == 200

            mount = profile.ssl_mount_path
            listing = candidate.container.exec_run(
                ["sh", "-c", f"cat {mount}/{KEY_FILE} {mount}/{CERT_FILE} {mount}/{CA_FILE}"],
                user="12345",
            )
            assert listing.exit_code == 0, listing.output
            assert b"PRIVATE KEY" in listing.output
            write = candidate.container.exec_run(["sh", "-c", f": > {mount}/x"], user="0")
            assert write.exit_code != 0  # read-only, even for root
