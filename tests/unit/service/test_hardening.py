"""The hardened service (issue #12) over HTTP: callbacks on their own bounded queue, rate
limits and admin lock-outs keyed on the real peer, secrets kept out of answers, logs and
the database files once deleted, credentials in URLs never echoed."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support import service as w
from tests.support.http_server import serving
from validator.registry.credentials import Secret
from validator.service import peers
from validator.service.app import create_app
from validator.service.metrics import Metrics
from validator.service.notifier import Notifier
from validator.service.settings import load_settings

URL_PASSWORD = "cbpw-" + "7e" * 10
CALLBACK_SECRET = "cbsecret-" + "8f" * 10
REGISTRY_PASSWORD = "regpw-" + "9a" * 10
LOOPBACK = ("127.0.0.1", 50000)


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@contextmanager
def app_client(
    tmp_path: Path, *, clock: Clock | None = None, worker: bool = False,
    runner: w.FakeRunner | None = None, client: tuple[str, int] = LOOPBACK, **changes: Any,
) -> Iterator[tuple[TestClient, w.FakeRunner]]:  # fmt: skip
    config = w.settings(**changes)
    runner = runner or w.FakeRunner()
    app = create_app(
        config,
        w.store(tmp_path / "service.sqlite3", config),
        runner,
        start_worker=worker,
        clock=clock or time.monotonic,
        shutdown_grace=1.0,
    )
    with TestClient(app, client=client) as made:
        yield made, runner


def add_watch(client: TestClient, **body: Any) -> dict[str, Any]:
    body = {"registry": "registry.example.org", "repository": "lab/*", **body}
    response = client.post("/api/v1/watches", json=body, headers=w.admin_headers())
    assert response.status_code == 201, response.text
    found: dict[str, Any] = response.json()
    return found


def push(client: TestClient, *digests: str, headers: dict[str, str] | None = None) -> int:
    events = [w.distribution_event("lab/nb", f"t{i}", d) for i, d in enumerate(digests)]
    response = client.post(
        "/hooks/distribution",
        content=json.dumps({"events": events}).encode(),
        headers={"Authorization": f"Bearer {w.HOOK}", "Content-Type": w.V2, **(headers or {})},
    )
    return response.status_code


def metric(client: TestClient, line_start: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


# --- 1. callbacks never on the worker, bounded queue ------------------------------------


class Hang(BaseHTTPRequestHandler):
    release = threading.Event()
    hits = 0

    def do_POST(self) -> None:
        type(self).hits += 1
        self.release.wait(30)
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_a_hanging_callback_endpoint_does_not_delay_the_next_jobs(tmp_path: Path) -> None:
    Hang.release.clear()
    Hang.hits = 0
    digests = [w.digest_of(f"hang-{i}") for i in range(4)]
    try:
        with (
            serving(Hang) as address,
            app_client(tmp_path, worker=True, concurrency=1) as (
                client,
                runner,
            ),
        ):
            add_watch(client, callback_url=f"http://{address}/v")
            started = time.monotonic()
            assert push(client, *digests) == 202
            # Each callback hangs for its 10 s timeout; the one worker must not wait for it.
            w.wait_for(lambda: len(runner.validated) == 4, timeout=8, what="all four jobs")
            assert time.monotonic() - started < 8
            w.wait_for(lambda: Hang.hits >= 1, what="the first callback to arrive")
    finally:
        Hang.release.set()


def test_a_full_callback_queue_drops_the_oldest_and_counts_it() -> None:
    gate = threading.Event()
    sent: list[int] = []

    def send(url: str, document: dict[str, Any], secret: Secret | None) -> bool:
        gate.wait(10)
        sent.append(document["validation_id"])
        return True

    metrics = Metrics()
    notifier = Notifier(metrics, capacity=2, send=send, threads=1)
    notifier.start()
    try:
        notifier.submit("https://x.example/", {"validation_id": 0}, None)
        w.wait_for(lambda: notifier.pending() == 0, what="the thread to take the first")
        for n in range(1, 6):
            notifier.submit("https://x.example/", {"validation_id": n}, None)
        assert notifier.pending() == 2 and notifier.dropped == 3
        assert 'jhiv_callbacks_total{outcome="dropped"} 3.0' in metrics.render().decode()
        gate.set()
        w.wait_for(lambda: len(sent) == 3, what="the kept deliveries")
        assert sent == [0, 4, 5]  # the newest survive
    finally:
        gate.set()
        notifier.stop(2)


# --- 2. trusted proxies -------------------------------------------------------------------


NETS = load_settings({"JHIV_SERVICE_ADMIN_TOKEN": "a",
                      "JHIV_SERVICE_TRUSTED_PROXIES": "127.0.0.1/32,10.0.0.0/8"}).trusted_proxies  # fmt: skip


@pytest.mark.parametrize(
    ("peer", "forwarded", "proxies", "expected"),
    [
        ("127.0.0.1", ["6.6.6.6"], (), "127.0.0.1"),  # no proxy trusted: header ignored
        ("192.0.2.9", ["6.6.6.6"], NETS, "192.0.2.9"),  # peer is not a proxy
        ("127.0.0.1", ["6.6.6.6, 198.51.100.7"], NETS, "198.51.100.7"),
        ("127.0.0.1", ["6.6.6.6, 198.51.100.7, 10.1.2.3"], NETS, "198.51.100.7"),
        ("127.0.0.1", ["6.6.6.6", "198.51.100.7:443"], NETS, "198.51.100.7"),
        ("127.0.0.1", ["[2001:db8::1]:443"], NETS, "2001:db8::1"),
        ("127.0.0.1", ["10.0.0.5, 10.0.0.6"], NETS, "10.0.0.5"),  # all ours: left-most
        ("127.0.0.1", [], NETS, "127.0.0.1"),
        ("127.0.0.1", ["x" * 500], NETS, "x" * peers.SHOWN),
        (None, ["6.6.6.6"], NETS, "-"),
    ],
)
def test_source_reads_forwarded_for_from_the_right(
    peer: str | None, forwarded: list[str], proxies: Any, expected: str
) -> None:
    assert peers.source(peer, forwarded, proxies) == expected


def test_spoofed_forwarded_for_does_not_bypass_the_rate_limit(tmp_path: Path) -> None:
    with app_client(tmp_path, rate=0.001, burst=3) as (client, _):
        codes = [push(client, headers={"X-Forwarded-For": f"203.0.113.{i}"}) for i in range(8)]
    assert codes == [202] * 3 + [429] * 5


def test_behind_a_trusted_proxy_the_client_address_is_the_key(tmp_path: Path) -> None:
    with app_client(tmp_path, rate=0.001, burst=2, trusted_proxies=NETS) as (client, _):
        one = {"X-Forwarded-For": "6.6.6.6, 198.51.100.1"}
        two = {"X-Forwarded-For": "7.7.7.7, 198.51.100.2, 10.9.9.9"}
        assert [push(client, headers=one) for _ in range(3)] == [202, 202, 429]
        assert [push(client, headers=two) for _ in range(3)] == [202, 202, 429]
        # The client-written left part changes nothing.
        assert push(client, headers={"X-Forwarded-For": "1.1.1.1, 198.51.100.1"}) == 429


# --- 3. admin lock-out --------------------------------------------------------------------


def test_wrong_admin_tokens_lock_the_peer_out_for_a_while(tmp_path: Path) -> None:
    clock = Clock()
    wrong = {"Authorization": "Bearer guess"}
    me = {"X-Forwarded-For": "198.51.100.1"}
    other = {"X-Forwarded-For": "198.51.100.2"}
    with app_client(tmp_path, clock=clock, admin_failures=3, admin_lockout=30,
                    trusted_proxies=NETS) as (client, _):  # fmt: skip
        codes = [client.get("/api/v1/watches", headers={**wrong, **me}).status_code
                 for _ in range(4)]  # fmt: skip
        assert codes == [403, 403, 403, 429]
        right = client.get("/api/v1/watches", headers={**w.admin_headers(), **me})
        assert right.status_code == 429 and int(right.headers["Retry-After"]) >= 1
        assert (
            client.get("/api/v1/watches", headers={**w.admin_headers(), **other}).status_code == 200
        )
        clock.now += 29
        assert client.get("/api/v1/watches", headers={**w.admin_headers(), **me}).status_code == 429
        clock.now += 2
        assert client.get("/api/v1/watches", headers={**w.admin_headers(), **me}).status_code == 200


def test_failures_older_than_the_window_do_not_count(tmp_path: Path) -> None:
    clock = Clock()
    wrong = {"Authorization": "Bearer guess"}
    with app_client(tmp_path, clock=clock, admin_failures=3, admin_lockout=30) as (client, _):
        for _ in range(2):
            assert client.get("/api/v1/watches", headers=wrong).status_code == 403
        clock.now += 61
        for _ in range(2):
            assert client.get("/api/v1/watches", headers=wrong).status_code == 403
        assert client.get("/api/v1/watches", headers=w.admin_headers()).status_code == 200


# --- 4. secrets ---------------------------------------------------------------------------


class Fail(BaseHTTPRequestHandler):
    hits = 0

    def do_POST(self) -> None:
        type(self).hits += 1
        self.send_response(500)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_callback_credentials_stay_secret_and_leave_the_db_files_when_deleted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    Fail.hits = 0
    db = tmp_path / "service.sqlite3"
    with serving(Fail) as address, app_client(tmp_path, worker=True) as (client, _):
        created = add_watch(client, username="robot", password=REGISTRY_PASSWORD,
                            callback_url=f"http://robot:{URL_PASSWORD}@{address}/v",
                            callback_secret=CALLBACK_SECRET)  # fmt: skip
        answers = [
            json.dumps(created),
            client.get("/api/v1/watches", headers=w.admin_headers()).text,
            client.get(f"/api/v1/watches/{created['id']}", headers=w.admin_headers()).text,
        ]
        assert push(client, w.DIGEST_A) == 202
        w.wait_for(lambda: Fail.hits >= 1, what="a failed delivery")
        w.wait_for(lambda: any("Callback" in r.getMessage() for r in caplog.records),
                   what="the failure's log line")  # fmt: skip
        with sqlite3.connect(db) as conn:
            ciphertexts = [row[0] for row in conn.execute("SELECT ciphertext FROM secrets")]
        assert len(ciphertexts) == 3  # password, callback secret, callback URL
        assert client.delete(f"/api/v1/watches/{created['id']}",
                             headers=w.admin_headers()).status_code == 204  # fmt: skip
        raw = db.read_bytes() + (
            Path(f"{db}-wal").read_bytes() if Path(f"{db}-wal").exists() else b""
        )
    for text in answers:
        assert URL_PASSWORD not in text and CALLBACK_SECRET not in text
        assert REGISTRY_PASSWORD not in text
    assert f"http://***@{address}/v" in answers[0]
    logged = "\n".join(r.getMessage() for r in caplog.records
                       if not r.name.startswith(("httpx", "httpcore", "urllib3")))  # fmt: skip
    assert "Callback" in logged
    for secret in (URL_PASSWORD, CALLBACK_SECRET, REGISTRY_PASSWORD):
        assert secret not in logged
        assert secret.encode() not in raw
    for ciphertext in ciphertexts:
        assert ciphertext.encode() not in raw


# --- 5. redaction -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"registry": f"robot:{URL_PASSWORD}@registry.example.org", "repository": "lab/*"},
        {"registry": f"https://robot:{URL_PASSWORD}@registry.example.org", "repository": "a/b"},
        {"registry": "r.example", "repository": "a/b",
         "callback_url": f"ftp://robot:{URL_PASSWORD}@hooks.example/v"},
        {"registry": "r.example", "repository": "a/b",
         "callback_url": f"http://robot:{URL_PASSWORD}@[::1"},
    ],
)  # fmt: skip
def test_watch_errors_never_echo_url_credentials(tmp_path: Path, body: dict[str, Any]) -> None:
    with app_client(tmp_path) as (client, _):
        answer = client.post("/api/v1/watches", json=body, headers=w.admin_headers())
    assert answer.status_code in (400, 422), answer.text
    assert URL_PASSWORD not in answer.text


@pytest.mark.parametrize(
    "image",
    [
        f"https://robot:{URL_PASSWORD}@registry.example.org/lab/nb:v1",
        f"robot:{URL_PASSWORD}@registry.example.org/lab/nb",
        f"https://robot:{URL_PASSWORD}@registry.example.org/lab/nb:::",
    ],
)
def test_result_queries_never_echo_url_credentials(tmp_path: Path, image: str) -> None:
    with app_client(tmp_path, public_results=True) as (client, _):
        answers = [
            client.get("/api/v1/validations", params={"image": image}),
            client.get("/api/v1/badge", params={"image": image}),
        ]
    for answer in answers:
        assert answer.status_code < 500 and URL_PASSWORD not in answer.text
