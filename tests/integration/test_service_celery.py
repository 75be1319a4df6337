"""The Celery engine end to end: one ``validate-image-service serve`` with a broker, two
``validate-image-service worker`` processes, a private Debian ``redis-server``, the
production database (a private PostgreSQL cluster), a real registry (CNCF distribution,
plain HTTP on loopback) and real images validated on the real Docker engine.

Both workers run on this one Docker engine (no second ``dockerd``): they differ by name,
own queue and process group, not by engine, so "the other worker's host" is the same
engine here; routing, claims, takeovers and the sweep do not depend on which engine a
worker talks to. The images are label-only variants of the ``plain`` test image (no
Python: ``jupyterhub-singleuser`` is not found, exit 127), so each validation fails in
seconds and every variant has a digest of its own.

A worker is killed with SIGKILL to its whole process group (its pool's processes too),
as when its host dies; Redis runs without persistence, so its restart loses every
message it held.
"""

from __future__ import annotations

import io
import json
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import pytest
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from tests.support import service as w
from tests.support.celery_cluster import RedisServer, WorkerProcess
from tests.support.registry import REGISTRY_BIN, TestRegistry
from tests.support.service_process import ServiceProcess
from tests.support.skip import unavailable
from tests.support.stores import Cluster, pg_cluster
from validator.runtime.sandbox import LABEL_PID
from validator.service.secretbox import generate_key

__all__ = ["pg_cluster"]  # the fixture, used by this module's tests

pytestmark = pytest.mark.docker

HOOK = "hook-" + secrets.token_urlsafe(24)
PROFILE = "dockerspawner"
WORKERS = ("a", "b")
# Variants per test: a burst, one to kill a worker under, a burst across a Redis restart.
BURST_PUSHES, BURST_REQUESTS = 8, 6
RESTART_PUSHES, RESTART_REQUESTS = 6, 4
VARIANTS = BURST_PUSHES + BURST_REQUESTS + 1 + RESTART_PUSHES + RESTART_REQUESTS
DONE = ("done", "failed")


@dataclass
class Cell:
    work: Path
    registry: TestRegistry
    redis: RedisServer
    service: ServiceProcess
    workers: dict[str, WorkerProcess]
    db: Engine
    docker: docker.DockerClient
    digests: list[str] = field(default_factory=list)  # variant i is celery/v<i>@digests[i]

    def image(self, i: int) -> str:
        return f"{self.registry.host}/celery/v{i}@{self.digests[i]}"

    def api(self, method: str, path: str, **kw: Any) -> requests.Response:
        return requests.request(
            method, self.service.url + path, headers=w.admin_headers(), timeout=10, **kw
        )

    def push(self, i: int) -> None:
        """The registry's notification of variant i's push, as distribution sends it."""
        event = w.distribution_event(f"celery/v{i}", "v1", self.digests[i], host=self.registry.host)
        answer = requests.post(
            self.service.url + "/hooks/distribution",
            data=json.dumps({"events": [event]}).encode(),
            headers={"Authorization": f"Bearer {HOOK}", "Content-Type": w.V2},
            timeout=10,
        )
        assert answer.status_code == 202, answer.text

    def request(self, i: int) -> str:
        answer = self.api(
            "POST", "/api/v1/validations", json={"image": self.image(i), "insecure": True}
        )
        assert answer.status_code == 202, answer.text
        return str(answer.json()["id"])

    def rows(self, sql: str, **params: Any) -> list[Any]:
        with self.db.connect() as conn:
            return list(conn.execute(text(sql), params))

    def validations(self, indexes: range) -> dict[str, tuple[str, int]]:
        """digest -> (status, attempts) of the webhook validations of these variants."""
        digests = [self.digests[i] for i in indexes]
        found = self.rows(
            "SELECT digest, status, attempts FROM validations WHERE digest = ANY(:d)", d=digests
        )
        return {r.digest: (r.status, r.attempts) for r in found}

    def requests_done(self, ids: list[str]) -> dict[str, str]:
        found = self.rows("SELECT public_id, status FROM requests WHERE public_id = ANY(:i)", i=ids)
        return {r.public_id: r.status for r in found}

    def runs(self, needle: str) -> int:
        """How many times the workers' logs say they started this validation."""
        return sum(p.log.read_text(errors="replace").count(needle) for p in self.workers.values())

    def wait_done(self, pushes: range, ids: list[str], timeout: float) -> None:
        def finished() -> bool:
            vals = self.validations(pushes)
            reqs = self.requests_done(ids)
            return (
                len(vals) == len(pushes)
                and all(s in DONE for s, _ in vals.values())
                and len(reqs) == len(ids)
                and all(s in DONE for s in reqs.values())
            )

        try:
            w.wait_for(finished, timeout=timeout, what="every job's result")
        except AssertionError:
            print(self.service.log.read_text()[-4000:])
            for proc in self.workers.values():
                print(proc.log.read_text()[-4000:])
            raise

    def objects_of(self, pid: str) -> list[str]:
        """Containers, networks and volumes a validator process with this pid made."""
        flt = {"label": f"{LABEL_PID}={pid}"}
        return [
            *(c.name for c in self.docker.containers.list(all=True, filters=flt, sparse=True)),
            *(n.name for n in self.docker.networks.list(filters=flt)),
            *(v.name for v in self.docker.volumes.list(filters=flt)),
        ]

    def live_workers(self) -> set[str]:
        health = requests.get(self.service.url + "/healthz", timeout=10).json()
        return {x["name"] for x in health.get("workers", []) if x.get("live")}


def _variants(client: docker.DockerClient, base: str, registry: TestRegistry) -> list[str]:
    digests = []
    for i in range(VARIANTS):
        tag = f"jhiv-test/celery-variant:{i}"
        dockerfile = f"FROM {base}\nLABEL org.jupyter.image-validator.test-variant={i}\n"
        client.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=tag, rm=True)
        try:
            digests.append(registry.push(client, tag, f"celery/v{i}", "v1"))
        finally:
            client.images.remove(tag)
    return digests


@pytest.fixture(scope="module")
def cell(
    tmp_path_factory: pytest.TempPathFactory,
    pg_cluster: Cluster,
    docker_client: docker.DockerClient,
    build_image: Any,
) -> Iterator[Cell]:
    if shutil.which(REGISTRY_BIN) is None:
        unavailable(f"{REGISTRY_BIN} is missing: run scripts/setup-registry.sh")
    work = tmp_path_factory.mktemp("celery-engine")
    registry = TestRegistry(work / "registry", password="", tls=False).start()
    redis = RedisServer(work / "redis")
    service: ServiceProcess | None = None
    workers: dict[str, WorkerProcess] = {}
    try:
        digests = _variants(docker_client, build_image("plain"), registry)
        redis.start()
        url = pg_cluster.url(pg_cluster.create_database())
        env = {
            "JHIV_SERVICE_ADMIN_TOKEN": w.ADMIN,
            "JHIV_SERVICE_HOOK_TOKEN": HOOK,
            "JHIV_SERVICE_SECRET_KEYS": generate_key(),
            "JHIV_SERVICE_DATABASE_URL": url,
            "JHIV_SERVICE_BROKER_URL": redis.url,
            "JHIV_SERVICE_WORKER_CONCURRENCY": "2",
            # Short on purpose: a lost worker's job moves within seconds, not a minute.
            "JHIV_SERVICE_LEASE": "6",
            "JHIV_SERVICE_RECONCILE": "1",
            "JHIV_SERVICE_RATE": "0",
            "JHIV_SERVICE_BACKOFF": "1",
        }
        service = ServiceProcess(work, env).start()
        workers = {name: WorkerProcess(work, name, env).start() for name in WORKERS}
        made = Cell(
            work, registry, redis, service, workers, create_engine(url), docker_client, digests
        )
        w.wait_for(lambda: made.live_workers() == set(WORKERS), timeout=60, what="both workers")
        watch = made.api(
            "POST",
            "/api/v1/watches",
            json={
                "registry": registry.host,
                "repository": "celery/*",
                "profile": PROFILE,
                "insecure": True,
            },
        )
        assert watch.status_code == 201, watch.text
        yield made
        made.db.dispose()
    finally:
        for proc in workers.values():
            proc.stop()
        if service is not None:
            service.stop()
        redis.stop()
        registry.stop()


def test_a_burst_of_pushes_and_requests_is_validated_exactly_once(cell: Cell) -> None:
    pushes = range(BURST_PUSHES)
    requested = range(BURST_PUSHES, BURST_PUSHES + BURST_REQUESTS)
    ids = []
    for i in pushes:
        cell.push(i)
        cell.push(i)  # a registry's retry of the same notification
    ids = [cell.request(i) for i in requested]
    cell.wait_done(pushes, ids, timeout=180)

    vals = cell.validations(pushes)
    # One result per digest, run on the first claim: no second delivery ran it again.
    assert vals == {cell.digests[i]: ("done", 1) for i in pushes}
    assert set(cell.requests_done(ids).values()) == {"done"}
    for i in pushes:
        assert cell.runs(f"Validating {cell.image(i)} for {PROFILE}") == 1
    for i in requested:
        assert cell.runs(f"Validating {cell.image(i)} on demand") == 1
    # Digests are spread over both workers (rendezvous hashing over the live ones).
    per_worker = {
        name: proc.log.read_text().count("Validating ") for name, proc in cell.workers.items()
    }
    assert all(per_worker.values()), per_worker
    verdicts = cell.rows(
        "SELECT verdict FROM validations WHERE digest = ANY(:d)",
        d=[cell.digests[i] for i in pushes],
    )
    assert {r.verdict for r in verdicts} == {"incompatible"}


def test_a_job_whose_worker_is_killed_completes_on_the_other_worker(cell: Cell) -> None:
    i = BURST_PUSHES + BURST_REQUESTS
    cell.push(i)
    owner: list[str] = []

    def running_with_containers() -> bool:
        found = cell.rows(
            "SELECT l.owner FROM leases l JOIN validations v ON l.ref = CAST(v.id AS VARCHAR) "
            "WHERE l.kind = 'validation' AND v.digest = :d AND l.owner IS NOT NULL",
            d=cell.digests[i],
        )
        # The owner is worker:pid:task; the pool process with that pid labels its objects.
        if found and cell.objects_of(str(found[0].owner).split(":")[1]):
            owner[:] = str(found[0].owner).split(":")[:2]
            return True
        return False

    w.wait_for(running_with_containers, timeout=60, what="the validation to be running")
    name, pid = owner
    victim = cell.workers[name]
    victim.kill()
    assert cell.objects_of(pid), "the kill left nothing to sweep"
    cell.wait_done(range(i, i + 1), [], timeout=90)
    assert "expired claims queued again" in cell.service.log.read_text()

    assert cell.validations(range(i, i + 1)) == {cell.digests[i]: ("done", 2)}
    survivor = next(p for n, p in cell.workers.items() if n != name)
    assert f"Validated {cell.image(i)} for {PROFILE}" in survivor.log.read_text()
    assert f"Validated {cell.image(i)} for {PROFILE}" not in victim.log.read_text()

    victim.start()  # sweeps its engine's leftovers at start
    w.wait_for(lambda: not cell.objects_of(pid), timeout=30, what="the restarted worker's sweep")
    w.wait_for(lambda: cell.live_workers() == set(WORKERS), timeout=60, what="both workers")


def test_every_acknowledged_job_ends_with_a_result_across_redis_and_service_restarts(
    cell: Cell,
) -> None:
    first = BURST_PUSHES + BURST_REQUESTS + 1
    pushes = range(first, first + RESTART_PUSHES)
    requested = range(first + RESTART_PUSHES, first + RESTART_PUSHES + RESTART_REQUESTS)
    for i in pushes:
        cell.push(i)
    ids = [cell.request(i) for i in requested]
    republished = cell.service.log.read_text().count("no live queue carries")
    cell.redis.restart()  # every message Redis held is gone
    cell.service.stop()  # and the service is restarted: the store holds every job
    cell.service.start()
    cell.wait_done(pushes, ids, timeout=180)
    # The reconciler saw the messages gone and published the jobs again.
    assert cell.service.log.read_text().count("no live queue carries") > republished

    vals = cell.validations(pushes)
    assert set(vals) == {cell.digests[i] for i in pushes}
    assert {status for status, _ in vals.values()} == {"done"}
    assert set(cell.requests_done(ids).values()) == {"done"}
    results = cell.rows(
        "SELECT count(*) AS n FROM validations WHERE digest = ANY(:d)",
        d=[cell.digests[i] for i in pushes],
    )
    assert results[0].n == len(pushes)  # one result per digest and profile
