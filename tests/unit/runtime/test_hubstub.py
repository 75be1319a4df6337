"""The stub hub answers like JupyterHub 5 does for a server's own token, and keeps records.

Expected bodies and statuses were taken from a real JupyterHub 5.4 hub asked the same
requests.
"""

from __future__ import annotations

import http.client
import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from validator.runtime.hubstub import HubRecord, SeenRequest, StubHub, activity_url
from validator.runtime.waiting import poll

TOKEN = "s3cr3t-token-0123456789abcdef"
VERSION = "5.4.6"


@pytest.fixture
def hub() -> Iterator[StubHub]:
    with StubHub(VERSION, "alice", "srv", TOKEN, "127.0.0.1") as stub:
        yield stub


def url(hub: StubHub, path: str) -> str:
    return f"{hub.host_url}{path}"


def auth(value: str = TOKEN, scheme: str = "token") -> dict[str, str]:
    return {"Authorization": f"{scheme} {value}"}


# -- addresses ---------------------------------------------------------------------


def test_urls_follow_the_hub_layout(hub: StubHub) -> None:
    base = f"http://127.0.0.1:{hub.port}"
    assert hub.hub_prefix == "/hub/"
    assert hub.api_url == f"{base}/hub/api"
    assert hub.activity_url == f"{base}/hub/api/users/alice/activity"
    assert hub.oauth_authorize_path == "/hub/api/oauth2/authorize"


@pytest.mark.parametrize(
    ("base_url", "prefix"),
    [("/", "/hub/"), ("", "/hub/"), ("jh", "/jh/hub/"), ("/a/b/", "/a/b/hub/")],
)
def test_base_url_is_normalised(base_url: str, prefix: str) -> None:
    stub = StubHub(VERSION, "alice", "", TOKEN, "127.0.0.1", port=8081, base_url=base_url)
    assert stub.hub_prefix == prefix
    assert stub.api_url == f"http://127.0.0.1:8081{prefix}api"


def test_ephemeral_port_is_unknown_until_started() -> None:
    stub = StubHub(VERSION, "alice", "", TOKEN, "127.0.0.1")
    with pytest.raises(RuntimeError, match="start it first"):
        _ = stub.api_url
    with stub:
        assert stub.port > 0


def test_ipv6_host_is_bracketed() -> None:
    stub = StubHub(VERSION, "alice", "", TOKEN, "::1", port=8081)
    assert stub.api_url == "http://[::1]:8081/hub/api"


def test_rejects_empty_token() -> None:
    with pytest.raises(ValueError, match="api_token"):
        StubHub(VERSION, "alice", "", "", "127.0.0.1")


def test_user_name_is_escaped_like_the_hub_does() -> None:
    stub = StubHub(VERSION, "a b@x", "", TOKEN, "127.0.0.1", port=8081)
    assert stub.activity_url.endswith("/hub/api/users/a%20b@x/activity")


# -- API root ----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/hub/api", "/hub/api/", "/hub/api?probe=1"])
def test_api_root_answers_version(hub: StubHub, path: str) -> None:
    r = requests.get(url(hub, path), timeout=5)
    assert r.status_code == 200
    assert r.json() == {"version": VERSION}
    assert r.headers["X-JupyterHub-Version"] == VERSION
    assert r.headers["Content-Type"] == "application/json"
    assert hub.contacted
    assert hub.contact_count == 1


def test_contact_is_recorded_with_a_monotonic_time(hub: StubHub) -> None:
    assert not hub.contacted
    assert hub.record().first_contact_at is None
    before = time.monotonic()
    requests.get(hub.api_url, timeout=5)
    requests.get(hub.api_url + "/", timeout=5)
    first = hub.record().first_contact_at
    assert first is not None
    assert before <= first <= time.monotonic()
    assert hub.contact_count == 2


def test_a_contact_from_another_thread_is_seen_by_polling_the_record(hub: StubHub) -> None:
    timer = threading.Timer(0.2, lambda: requests.get(hub.api_url, timeout=5))
    timer.start()
    try:
        started = time.monotonic()
        seen = poll(
            lambda: hub.record() if hub.record().contacted else None,
            deadline=started + 10,
            interval=0.02,
        )
        assert seen is not None
        assert seen.first_contact_at is not None
        assert started <= seen.first_contact_at <= time.monotonic()
    finally:
        timer.join()


def test_api_root_rejects_other_methods(hub: StubHub) -> None:
    r = requests.post(hub.api_url, timeout=5)
    assert r.status_code == 405
    assert r.json() == {"status": 405, "message": "Method Not Allowed"}
    assert not hub.contacted


# -- token checks ------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["token", "Bearer", "bearer", "TOKEN"])
def test_user_model_for_the_server_token(hub: StubHub, scheme: str) -> None:
    r = requests.get(hub.api_url + "/user", headers=auth(scheme=scheme), timeout=5)
    assert r.status_code == 200
    assert r.headers["X-JupyterHub-Version"] == VERSION
    model = r.json()
    last_activity = model.pop("last_activity")
    assert last_activity.endswith("Z")
    assert model == {
        "admin": False,
        "groups": [],
        "kind": "user",
        "name": "alice",
        "token_id": "a1",
        "session_id": None,
        "scopes": [
            "access:servers!server=alice/srv",
            "read:users:activity!user=alice",
            "read:users:groups!user=alice",
            "read:users:name!user=alice",
            "users:activity!user=alice",
        ],
    }
    assert hub.record().user_lookups == 1


def test_default_server_scope_ends_with_a_slash() -> None:
    with StubHub(VERSION, "bob", "", TOKEN, "127.0.0.1") as stub:
        model = requests.get(stub.api_url + "/user", headers=auth(), timeout=5).json()
    assert "access:servers!server=bob/" in model["scopes"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        auth("wrong"),
        auth(TOKEN + "x"),
        auth(TOKEN[:-1]),
        auth(TOKEN, scheme="Basic"),
        {"Authorization": TOKEN},
        {"Authorization": f"token {TOKEN} extra"},
    ],
)
def test_user_model_refused_without_the_token(hub: StubHub, headers: dict[str, str]) -> None:
    r = requests.get(hub.api_url + "/user", headers=headers, timeout=5)
    assert r.status_code == 403
    assert r.json() == {"status": 403, "message": "Forbidden"}
    assert r.headers["X-JupyterHub-Version"] == VERSION
    assert hub.record().user_lookups == 1


# -- activity ----------------------------------------------------------------------

ACTIVITY = {
    "servers": {"srv": {"last_activity": "2026-01-02T03:04:05.678901Z"}},
    "last_activity": "2026-01-02T03:04:05.678901Z",
}


def test_activity_post_is_accepted_and_recorded(hub: StubHub) -> None:
    r = requests.post(hub.activity_url, json=ACTIVITY, headers=auth(), timeout=5)
    assert r.status_code == 200
    assert r.content == b""
    assert r.headers["Content-Length"] == "0"
    assert r.headers["X-JupyterHub-Version"] == VERSION
    assert list(hub.record().activity_posts) == [ACTIVITY]
    # The user model reports the latest activity, as the hub's does.
    model = requests.get(hub.api_url + "/user", headers=auth(), timeout=5).json()
    assert model["last_activity"] == ACTIVITY["last_activity"]


def test_activity_records_are_copies(hub: StubHub) -> None:
    requests.post(hub.activity_url, json=ACTIVITY, headers=auth(), timeout=5)
    taken = hub.record()
    taken.activity_posts[0]["last_activity"] = "changed"
    taken.activity_posts[0]["servers"]["srv"]["last_activity"] = "changed"
    assert hub.record().activity_posts == (ACTIVITY,)


def test_activity_accepts_a_chunked_body(hub: StubHub) -> None:
    chunks = (part.encode() for part in ['{"last_activity": ', '"2026-01-02T03:04:05Z"}'])
    r = requests.post(hub.activity_url, data=chunks, headers=auth(), timeout=5)
    assert r.status_code == 200
    assert list(hub.record().activity_posts) == [{"last_activity": "2026-01-02T03:04:05Z"}]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "Invalid JSON in body of request"),
        (b"[1, 2]", "body must be a json dict"),
        (b"", "body must be a json dict"),
        (b"{}", "body must contain at least one of `last_activity` or `servers`"),
    ],
)
def test_activity_rejects_bad_bodies(hub: StubHub, body: bytes, message: str) -> None:
    r = requests.post(hub.activity_url, data=body, headers=auth(), timeout=5)
    assert r.status_code == 400
    assert r.json() == {"status": 400, "message": message}
    assert list(hub.record().activity_posts) == []


def test_activity_needs_the_token(hub: StubHub) -> None:
    r = requests.post(hub.activity_url, json=ACTIVITY, headers=auth("wrong"), timeout=5)
    assert r.status_code == 403
    assert r.json() == {"status": 403, "message": "Missing or invalid credentials."}
    assert list(hub.record().activity_posts) == []


def test_activity_for_another_user_is_not_found(hub: StubHub) -> None:
    r = requests.post(hub.api_url + "/users/bob/activity", json=ACTIVITY, headers=auth(), timeout=5)
    assert r.status_code == 404
    assert r.json() == {"status": 404, "message": "No access to resources or resources not found"}
    assert list(hub.record().activity_posts) == []


def test_activity_only_takes_posts(hub: StubHub) -> None:
    r = requests.get(hub.activity_url, headers=auth(), timeout=5)
    assert r.status_code == 405


# -- OAuth and unknown paths -------------------------------------------------------


def test_oauth_authorize_is_noticed(hub: StubHub) -> None:
    query = "client_id=jupyterhub-user-alice-srv&response_type=code&state=abc"
    r = requests.get(
        f"{url(hub, hub.oauth_authorize_path)}?{query}", allow_redirects=False, timeout=5
    )
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    assert b"stub hub" in r.content
    assert r.headers["X-JupyterHub-Version"] == VERSION
    assert hub.record().authorize_requests == 1
    assert list(hub.record().requests) == [SeenRequest("GET", "/hub/api/oauth2/authorize", 200)]


@pytest.mark.parametrize("path", ["/hub/api/nope", "/hub/api/users", "/", "/user/alice/srv/api"])
def test_unknown_paths_are_json_404s(hub: StubHub, path: str) -> None:
    r = requests.get(url(hub, path), timeout=5)
    assert r.status_code == 404
    assert r.json() == {"status": 404, "message": "Not Found"}
    assert r.headers["X-JupyterHub-Version"] == VERSION
    assert list(hub.record().requests) == [SeenRequest("GET", path, 404)]


def test_base_url_moves_every_endpoint() -> None:
    with StubHub(VERSION, "alice", "", TOKEN, "127.0.0.1", base_url="/jh/") as stub:
        assert requests.get(url(stub, "/hub/api"), timeout=5).status_code == 404
        assert requests.get(url(stub, "/jh/hub/api"), timeout=5).json() == {"version": VERSION}
        r = requests.get(url(stub, "/jh/hub/api/user"), headers=auth(), timeout=5)
        assert r.status_code == 200
        assert stub.contacted


# -- records -----------------------------------------------------------------------


def test_requests_seen_lists_every_answer_in_order(hub: StubHub) -> None:
    requests.get(hub.api_url, timeout=5)
    requests.get(hub.api_url + "/user", headers=auth(), timeout=5)
    requests.get(hub.api_url + "/user?x=1", headers=auth("bad"), timeout=5)
    requests.post(hub.activity_url, json=ACTIVITY, headers=auth(), timeout=5)
    requests.delete(url(hub, "/elsewhere?token=x"), timeout=5)
    assert list(hub.record().requests) == [
        ("GET", "/hub/api", 200),
        ("GET", "/hub/api/user", 200),
        ("GET", "/hub/api/user", 403),
        ("POST", "/hub/api/users/alice/activity", 200),
        ("DELETE", "/elsewhere", 404),
    ]
    assert hub.record().user_lookups == 2


def test_records_survive_concurrent_callers(hub: StubHub) -> None:
    def call() -> None:
        with requests.Session() as session:
            for _ in range(10):
                session.get(hub.api_url, timeout=5)
                session.get(hub.api_url + "/user", headers=auth(), timeout=5)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert hub.contact_count == 80
    assert len(hub.record().contact_times) == 80
    assert hub.record().user_lookups == 80
    assert len(list(hub.record().requests)) == 160


def test_record_is_a_frozen_snapshot(hub: StubHub) -> None:
    requests.get(hub.api_url, timeout=5)
    taken = hub.record()
    requests.get(hub.api_url + "/user", headers=auth(), timeout=5)
    requests.get(url(hub, hub.oauth_authorize_path), timeout=5)
    assert taken == HubRecord(
        requests=(SeenRequest("GET", "/hub/api", 200),),
        contact_times=taken.contact_times,
        user_lookups=0,
        activity_posts=(),
        authorize_requests=0,
    )
    assert len(taken.contact_times) == 1
    with pytest.raises(AttributeError):
        taken.user_lookups = 5  # type: ignore[misc]
    now = hub.record()
    assert (now.user_lookups, now.authorize_requests, len(now.requests)) == (1, 1, 3)


def test_an_unused_stub_has_an_empty_record(hub: StubHub) -> None:
    assert hub.record() == HubRecord((), (), 0, (), 0)
    assert not hub.record().contacted
    assert hub.record().first_contact_at is None


def test_activity_url_is_built_in_one_place() -> None:
    stub = StubHub(VERSION, "a b@x", "", TOKEN, "127.0.0.1", port=8081)
    assert stub.activity_url == activity_url(stub.api_url, "a b@x")


# -- the token stays secret --------------------------------------------------------


def stub_log(caplog: pytest.LogCaptureFixture) -> str:
    # Only our logger: requests' own debug lines quote URLs, tokens in queries included.
    return "\n".join(
        r.getMessage() for r in caplog.records if r.name == "validator.runtime.hubstub"
    )


def test_token_never_reaches_logs_or_records(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with StubHub(VERSION, "alice", "srv", TOKEN, "127.0.0.1") as stub:
        requests.get(stub.api_url, timeout=5)
        requests.get(stub.api_url + "/user", headers=auth(), timeout=5)
        requests.get(stub.api_url + "/user", headers=auth(scheme="Bearer"), timeout=5)
        requests.post(stub.activity_url, json=ACTIVITY, headers=auth(), timeout=5)
        requests.get(f"{url(stub, stub.oauth_authorize_path)}?token={TOKEN}", timeout=5)
        # Pre-2.0 servers put the token in the path.
        requests.get(f"{stub.api_url}/authorizations/token/{TOKEN}", timeout=5)
        seen = list(stub.record().requests)
    assert ("GET", "/hub/api/authorizations/token/[secret]", 404) in seen
    assert all(TOKEN not in request.path for request in seen)
    assert "Stub hub answered GET /hub/api/user with 200" in stub_log(caplog)
    assert TOKEN not in stub_log(caplog)


def test_token_not_logged_for_malformed_requests(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with (
        StubHub(VERSION, "alice", "", TOKEN, "127.0.0.1") as stub,
        socket.create_connection(("127.0.0.1", stub.port), timeout=5) as sock,
    ):
        sock.sendall(f"BREW /hub/api?token={TOKEN} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 501")
    assert f"X-JupyterHub-Version: {VERSION}".encode() in answer
    assert "malformed request with 501" in stub_log(caplog)
    assert TOKEN not in stub_log(caplog)
    assert list(stub.record().requests) == []


# -- HTTP/1.1 behaviour ------------------------------------------------------------


def test_keep_alive_serves_several_requests_on_one_connection(hub: StubHub) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", hub.port, timeout=5)
    try:
        conn.request("GET", "/hub/api")
        first = conn.getresponse()
        assert first.version == 11
        assert first.getheader("Connection") is None
        assert first.getheader("Content-Length") == str(len(first.read()))
        sock = conn.sock
        conn.request("POST", "/hub/api/users/alice/activity", body=b"[]", headers=auth())
        assert (
            conn.getresponse().read() == b'{"status": 400, "message": "body must be a json dict"}'
        )
        conn.request("GET", "/hub/api/missing")
        missing = conn.getresponse()
        missing.read()
        assert missing.status == 404
        conn.request("GET", "/hub/api/user", headers=auth())
        assert conn.getresponse().status == 200
        assert conn.sock is sock
    finally:
        conn.close()


def test_oversized_body_is_refused_and_the_connection_closed(hub: StubHub) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", hub.port, timeout=5)
    try:
        conn.putrequest("POST", "/hub/api/users/alice/activity")
        conn.putheader("Content-Length", str(10 * 1024 * 1024))
        conn.endheaders()
        r = conn.getresponse()
        assert r.status == 413
        assert r.getheader("Connection") == "close"
        r.read()
    finally:
        conn.close()
    assert list(hub.record().requests) == [("POST", "/hub/api/users/alice/activity", 413)]


def test_unreadable_content_length_is_a_bad_request(hub: StubHub) -> None:
    with socket.create_connection(("127.0.0.1", hub.port), timeout=5) as sock:
        sock.sendall(b"POST /hub/api HTTP/1.1\r\nHost: x\r\nContent-Length: lots\r\n\r\n")
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 400")
    assert b"Connection: close" in answer
    assert list(hub.record().requests) == [("POST", "/hub/api", 400)]


def test_head_gets_headers_only(hub: StubHub) -> None:
    r = requests.head(url(hub, "/hub/api/nope"), timeout=5)
    assert r.status_code == 404
    assert r.content == b""
    assert r.headers["X-JupyterHub-Version"] == VERSION


# -- lifetime ----------------------------------------------------------------------


def test_exit_closes_idle_keep_alive_connections_promptly() -> None:
    stub = StubHub(VERSION, "alice", "", TOKEN, "127.0.0.1")
    with stub:
        conn = http.client.HTTPConnection("127.0.0.1", stub.port, timeout=5)
        conn.request("GET", "/hub/api")
        conn.getresponse().read()
        started = time.monotonic()
    assert time.monotonic() - started < 3
    with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
        conn.request("GET", "/hub/api")
        conn.getresponse()
    conn.close()
    with pytest.raises(requests.ConnectionError):
        requests.get(stub.api_url, timeout=2)


def test_stop_is_idempotent_and_start_only_once() -> None:
    stub = StubHub(VERSION, "alice", "", TOKEN, "127.0.0.1")
    stub.stop()
    with stub, pytest.raises(RuntimeError, match="already started"):
        stub.start()
    stub.stop()


def test_fixed_port_in_use_raises() -> None:
    with StubHub(VERSION, "alice", "", TOKEN, "127.0.0.1") as first:
        second = StubHub(VERSION, "alice", "", TOKEN, "127.0.0.1", port=first.port)
        with pytest.raises(OSError):
            second.start()
        second.stop()


# -- internal SSL ------------------------------------------------------------------


@pytest.fixture
def tls_hub() -> Iterator[StubHub]:
    with StubHub(VERSION, "alice", "srv", TOKEN, "127.0.0.1", internal_ssl=True) as stub:
        yield stub


def _client_session(hub: StubHub, *, with_cert: bool = True) -> requests.Session:
    """A client as jupyterhub-singleuser makes one: the spawn's CA, its certificate."""
    assert hub.tls is not None
    client = hub.tls.client("127.0.0.1")
    session = requests.Session()
    session.trust_env = False
    session.verify = client.ca_file
    if with_cert:
        session.cert = (client.cert_file, client.key_file)
    return session


def test_with_internal_ssl_the_api_is_https_and_trusted_by_the_spawns_ca(
    tls_hub: StubHub,
) -> None:
    assert tls_hub.api_url == f"https://127.0.0.1:{tls_hub.port}/hub/api"
    assert tls_hub.activity_url.startswith("https://")
    with _client_session(tls_hub) as session:
        r = session.get(tls_hub.api_url, timeout=5)
    assert r.status_code == 200 and r.json() == {"version": VERSION}
    assert tls_hub.contacted
    assert tls_hub.record().tls_refusals == ()


def test_with_internal_ssl_a_client_without_certificate_is_refused_and_recorded(
    tls_hub: StubHub,
) -> None:
    # The hub's API with internal_ssl demands a client certificate from its CA.
    with (
        _client_session(tls_hub, with_cert=False) as session,
        pytest.raises(requests.exceptions.ConnectionError),
    ):
        session.get(tls_hub.api_url, timeout=5)
    refused = poll(
        lambda: tls_hub.record().tls_refusals or None, deadline=time.monotonic() + 5, interval=0.02
    )
    assert refused is not None
    assert not tls_hub.contacted


def test_with_internal_ssl_a_client_that_rejects_the_hub_is_recorded(tls_hub: StubHub) -> None:
    # What a server that dropped JUPYTERHUB_SSL_CLIENT_CA does: verify against the
    # system store, which does not know the spawn's CA.
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(tls_hub.api_url, timeout=5)
    refused = poll(
        lambda: tls_hub.record().tls_refusals or None, deadline=time.monotonic() + 5, interval=0.02
    )
    assert refused is not None and refused[-1] == "TLSV1_ALERT_UNKNOWN_CA"


def test_the_certificates_are_removed_when_the_stub_stops() -> None:
    stub = StubHub(VERSION, "alice", "", TOKEN, "127.0.0.1", internal_ssl=True)
    assert stub.tls is None  # made when it starts
    with stub:
        assert stub.tls is not None
        ca_file = stub.tls.ca_file
        assert Path(ca_file).exists()
    assert stub.tls is None
    assert not Path(ca_file).exists()
