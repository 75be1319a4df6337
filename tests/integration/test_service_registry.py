"""End to end: a real registry (Debian's docker-registry, CNCF distribution) notifies the
real service process; ``docker push`` of a test image ends as a result in the API with
the right verdict and the pushed digest. Two validations in all: one incompatible image
(fast), one compatible.
"""

from __future__ import annotations

import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from typing import Any

import docker
import pytest
import requests

from tests.support.registry import REGISTRY_BIN, TestRegistry
from tests.support.service_process import ServiceProcess, notifying_registry
from tests.support.skip import unavailable
from validator.service.secretbox import generate_key

pytestmark = pytest.mark.docker

ADMIN = "adm-" + secrets.token_urlsafe(24)
HOOK = "hook-" + secrets.token_urlsafe(24)
PASSWORD = "pw-" + secrets.token_urlsafe(18)
CALLBACK = "cb-" + secrets.token_urlsafe(18)
PROFILE = "z2jh"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    proc = ServiceProcess(
        tmp_path_factory.mktemp("webhook-service"),
        env={
            "JHIV_SERVICE_ADMIN_TOKEN": ADMIN,
            "JHIV_SERVICE_HOOK_TOKEN": HOOK,
            "JHIV_SERVICE_SECRET_KEYS": generate_key(),
            "JHIV_SERVICE_CONCURRENCY": "2",
            "JHIV_SERVICE_BACKOFF": "1",
        },
    )
    try:
        yield proc.start()
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def registry(
    service: ServiceProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestRegistry]:
    if shutil.which(REGISTRY_BIN) is None:
        unavailable(f"{REGISTRY_BIN} is missing: run scripts/setup-registry.sh")
    reg = notifying_registry(
        tmp_path_factory.mktemp("notifying-registry"), f"{service.url}/hooks/distribution", HOOK
    )
    try:
        yield reg
    finally:
        reg.stop()


def api(service: ServiceProcess, method: str, path: str, **kw: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {ADMIN}", **kw.pop("headers", {})}
    return requests.request(method, f"{service.url}{path}", headers=headers, timeout=10, **kw)


def wait_for_result(service: ServiceProcess, image: str, timeout: float = 420) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = api(service, "GET", "/api/v1/validations", params={"image": image}).json()
        found = [v for v in last["validations"] if v["status"] in ("done", "failed")]
        if found:
            result: dict[str, Any] = found[0]
            return result
        time.sleep(1)
    raise AssertionError(
        f"no result for {image} after {timeout} s; last answer {last}; "
        f"service log: {service.log.read_text()[-3000:]}"
    )


def test_push_to_a_watched_repository_is_validated(
    service: ServiceProcess,
    registry: TestRegistry,
    docker_client: docker.DockerClient,
    build_image: Callable[[str], str],
) -> None:
    created = api(
        service, "POST", "/api/v1/watches",
        json={"registry": registry.host, "repository": "team/*", "profile": PROFILE,
              "insecure": True, "username": "robot", "password": PASSWORD,
              "callback_secret": CALLBACK},
    )  # fmt: skip
    assert created.status_code == 201, created.text

    pushed = {
        name: registry.push(docker_client, build_image(name), f"team/{name}", "v1")
        for name in ("plain", "good")
    }
    plain = wait_for_result(service, f"{registry.host}/team/plain:v1")
    assert plain["status"] == "done", plain
    assert plain["verdict"] == "incompatible" and plain["digest"] == pushed["plain"]
    good = wait_for_result(service, f"{registry.host}/team/good:v1")
    assert good["status"] == "done", good
    assert good["verdict"] == "compatible" and good["digest"] == pushed["good"]

    detail = api(service, "GET", good["links"]["self"]).json()
    assert detail["report"]["digest"] == pushed["good"]
    assert detail["report"]["profile"] == PROFILE
    failed = {f["id"] for f in api(service, "GET", plain["links"]["self"]).json()["report"]["findings"]
              if f["status"] == "fail"}  # fmt: skip
    assert "singleuser-installed" in failed
    badge = api(service, "GET", "/api/v1/badge", params={"image": f"{registry.host}/team/good:v1"})
    assert "jupyterhub 5.4: compatible" in badge.text

    # Every layer upload and the service's own pulls were events too: ignored, not run.
    metrics = requests.get(f"{service.url}/metrics", timeout=10).text
    assert 'jhiv_webhook_events_total{outcome="queued",receiver="distribution"} 2.0' in metrics
    assert 'outcome="ignored",receiver="distribution"' in metrics
    assert 'jhiv_validations_total{verdict="compatible"} 1.0' in metrics

    # The same digest pushed under another tag is not validated again.
    again = registry.push(docker_client, build_image("plain"), "team/plain", "v2")
    assert again == pushed["plain"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        tagged = api(service, "GET", "/api/v1/validations",
                     params={"image": f"{registry.host}/team/plain:v2"}).json()  # fmt: skip
        if tagged["digest"] == pushed["plain"]:
            break
        time.sleep(0.5)
    assert [v["id"] for v in tagged["validations"]] == [plain["id"]]


def test_no_plaintext_secret_in_the_database_or_the_log(
    service: ServiceProcess, registry: TestRegistry
) -> None:
    # After the end-to-end run (module order): the service wrote the watch's password.
    for path in service.workdir.iterdir():
        data = path.read_bytes()
        for secret in (PASSWORD, CALLBACK, ADMIN, HOOK):
            assert secret.encode() not in data, f"{secret[:3]}... in {path.name}"
