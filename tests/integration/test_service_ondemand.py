"""Validation on demand end to end: the service's real app and DockerRunner, a real
image pushed to a real registry (CNCF distribution with a bcrypt login and TLS from a CA
made for the run), asked for with the login through the API. The login must be used for
the pull, and gone from the database, the responses and the logs once the job ends."""

from __future__ import annotations

import logging
import secrets
import shutil
import sqlite3
import ssl
from collections.abc import Callable
from pathlib import Path

import docker
import pytest
from fastapi.testclient import TestClient

from tests.support import service as w
from tests.support.registry import REGISTRY_BIN, TestRegistry
from tests.support.skip import unavailable
from validator.service.app import create_app
from validator.service.runner import DockerRunner

pytestmark = pytest.mark.docker

PASSWORD = "jhiv-od-" + secrets.token_urlsafe(18)
USER = "jhiv-od-user"


def test_a_private_image_is_validated_on_demand_and_its_login_deleted(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    docker_client: docker.DockerClient,
    build_image: Callable[[str], str],
) -> None:
    for tool in (REGISTRY_BIN, "htpasswd", "openssl"):
        if shutil.which(tool) is None:
            unavailable(f"{tool} is missing: run scripts/setup-registry.sh")
    caplog.set_level(logging.DEBUG)
    registry = TestRegistry(tmp_path / "registry", username=USER, password=PASSWORD)
    registry.start()
    try:
        assert registry.ca_cert is not None
        # The service's machine trusts the registry's CA (as after update-ca-certificates).
        system = Path(ssl.get_default_verify_paths().cafile or "/etc/ssl/certs/ca-certificates.crt")
        bundle = tmp_path / "trusted.pem"
        bundle.write_bytes(system.read_bytes() + b"\n" + registry.ca_cert.read_bytes())
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
        digest = registry.push(docker_client, build_image("plain"), "team/od-plain", "v1")

        config = w.settings(concurrency=1)
        database = tmp_path / "service.sqlite3"
        app = create_app(config, w.store(database, config), DockerRunner(), shutdown_grace=5.0)
        with TestClient(app) as client:
            refused = client.post(
                "/api/v1/validations",
                json={"image": f"https://{registry.host}/team/od-plain:v1"},
                headers=w.admin_headers(),
            )
            assert refused.status_code == 202
            accepted = client.post(
                "/api/v1/validations",
                json={"image": f"https://{registry.host}/team/od-plain:v1",
                      "registry": registry.host, "username": USER, "password": PASSWORD},
                headers=w.admin_headers(),
            )  # fmt: skip
            assert accepted.status_code == 202, accepted.text
            results = {}
            for name, answer in (("without", refused), ("with", accepted)):
                url = answer.headers["Location"]

                def ended(url: str = url) -> bool:
                    status = client.get(url, headers=w.admin_headers()).json()["status"]
                    return status in ("done", "failed")

                w.wait_for(
                    ended,
                    timeout=300,
                    what=f"the validation {name} the login",
                )
                results[name] = client.get(url, headers=w.admin_headers())
        without, with_login = (results[k].json() for k in ("without", "with"))
        # Without the login the registry refuses; with it the image is pulled and judged.
        assert without["status"] == "failed" and "requires a login" in (without["error"] or "")
        assert with_login["status"] == "done", with_login["error"]
        assert with_login["digest"] == digest
        assert with_login["report"]["digest"] == digest
        assert with_login["verdict"] == "incompatible"  # plain has no jupyterhub-singleuser
        with sqlite3.connect(database) as db:
            assert list(db.execute("SELECT * FROM request_secrets")) == []
        stored = b"".join(p.read_bytes() for p in tmp_path.glob("service.sqlite3*"))
        assert PASSWORD.encode() not in stored
        for text in (accepted.text, results["with"].text, results["without"].text, caplog.text):
            assert PASSWORD not in text
    finally:
        registry.stop()
