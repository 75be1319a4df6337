"""Internal SSL's certificates, the probes' mutual-TLS client and the causes it names.

Servers here are real sockets on 127.0.0.1 with real handshakes; only the
candidate container is replaced by what its readiness poll looks at.
"""

from __future__ import annotations

import io
import ipaddress
import ssl
import tarfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from tests.support.http_server import running
from validator.runtime import waiting
from validator.runtime.listening import Listener
from validator.runtime.tls import (
    CA_FILE,
    CERT_FILE,
    KEY_FILE,
    Authority,
    InternalSSL,
    cert_archive,
    plain_http_status,
    session_for,
    ssl_environment,
    tls_cause,
)
from validator.runtime.waiting import HubReady, UpResult


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def spawn_ssl() -> Iterator[InternalSSL]:
    with InternalSSL() as material:
        yield material


@pytest.fixture
def tls_server(spawn_ssl: InternalSSL, tmp_path: Path) -> Iterator[str]:
    """A server with the candidate's certificate that requires a client certificate,
    as jupyter_server does when JUPYTERHUB_SSL_CLIENT_CA is set."""
    for name, data in spawn_ssl.server_files("jupyter-test").items():
        (tmp_path / name).write_bytes(data)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=tmp_path / CA_FILE)
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_cert_chain(tmp_path / CERT_FILE, tmp_path / KEY_FILE)
    server = HTTPServer(("127.0.0.1", 0), _Ok)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    with running(server) as address:
        yield address


@pytest.fixture
def plain_server() -> Iterator[str]:
    with running(HTTPServer(("127.0.0.1", 0), _Ok)) as address:
        yield address


# -- certificates --------------------------------------------------------------------


def test_a_server_certificate_names_the_host_and_the_local_defaults() -> None:
    pair = Authority().issue("user-x", dns=["jupyter-x", "localhost"], ips=["127.0.0.1"])
    cert = x509.load_pem_x509_certificate(pair.cert_pem)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["jupyter-x", "localhost"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    # The singleuser presents its server certificate to the hub API as a client.
    assert set(usages) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    assert b"PRIVATE KEY" in pair.key_pem


def test_each_spawn_has_its_own_ca(spawn_ssl: InternalSSL) -> None:
    with InternalSSL() as other:
        assert other.ca.cert_pem != spawn_ssl.ca.cert_pem
    files = spawn_ssl.server_files("jupyter-a")
    assert set(files) == {KEY_FILE, CERT_FILE, CA_FILE}
    assert files[CA_FILE] == spawn_ssl.ca.cert_pem


def test_closing_removes_the_host_side_keys() -> None:
    material = InternalSSL()
    ca_dir = Path(material.ca_file).parent
    assert (ca_dir.stat().st_mode & 0o777) == 0o700
    material.close()
    assert not ca_dir.exists()


def test_the_ssl_environment_names_kubespawners_files() -> None:
    assert ssl_environment("/etc/jupyterhub/ssl/") == {
        "JUPYTERHUB_SSL_KEYFILE": "/etc/jupyterhub/ssl/ssl.key",
        "JUPYTERHUB_SSL_CERTFILE": "/etc/jupyterhub/ssl/ssl.crt",
        "JUPYTERHUB_SSL_CLIENT_CA": "/etc/jupyterhub/ssl/notebooks-ca_trust.crt",
    }


def test_the_archive_is_root_owned_and_readable_by_any_uid() -> None:
    data = cert_archive({KEY_FILE: b"k", CERT_FILE: b"c"})
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert set(members) == {KEY_FILE, CERT_FILE}
        for member in members.values():
            assert (member.uid, member.gid, member.mode) == (0, 0, 0o444)
        key = tar.extractfile(KEY_FILE)
        assert key is not None and key.read() == b"k"


# -- the probes' client ----------------------------------------------------------------


def test_the_client_verifies_the_name_and_presents_its_certificate(
    spawn_ssl: InternalSSL, tls_server: str
) -> None:
    with spawn_ssl.client("jupyter-test").session() as session:
        assert session.get(f"https://{tls_server}/", timeout=5).text == "ok"


def test_a_client_without_a_certificate_is_refused(spawn_ssl: InternalSSL, tls_server: str) -> None:
    with spawn_ssl.client("jupyter-test").session() as session:
        session.cert = None
        with pytest.raises(requests.exceptions.ConnectionError):
            session.get(f"https://{tls_server}/", timeout=5)


def test_a_certificate_for_another_name_is_rejected(
    spawn_ssl: InternalSSL, tls_server: str
) -> None:
    with (
        spawn_ssl.client("jupyter-other").session() as session,
        pytest.raises(requests.exceptions.SSLError),
    ):
        session.get(f"https://{tls_server}/", timeout=5)


def test_a_ca_bundle_in_the_environment_does_not_replace_the_spawns_ca(
    spawn_ssl: InternalSSL, tls_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # requests lets REQUESTS_CA_BUNDLE win over Session.verify (psf/requests#4726).
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", ssl.get_default_verify_paths().openssl_cafile)
    with spawn_ssl.client("jupyter-test").session() as session:
        assert session.get(f"https://{tls_server}/", timeout=5).status_code == 200


def test_probes_that_only_have_a_url_find_the_registered_client(
    spawn_ssl: InternalSSL, tls_server: str
) -> None:
    url = f"https://{tls_server}/user/x/api"
    with session_for(url) as unknown, pytest.raises(requests.exceptions.SSLError):
        unknown.get(url, timeout=5)
    spawn_ssl.register(url, spawn_ssl.client("jupyter-test"))
    # Any path on the same origin: the probes add their own.
    with session_for(f"https://{tls_server}/other") as known:
        assert known.get(url, timeout=5).status_code == 200
    spawn_ssl.close()
    assert session_for(url).cert is None


# -- a server that does not speak TLS ----------------------------------------------------


class _PlainServer:
    """What the readiness poll looks at, for a server on a plain-HTTP socket."""

    def __init__(self, address: str) -> None:
        self.url = f"https://{address}/"
        self.port = int(address.rsplit(":", 1)[1])
        self.started_at = 0.0

    def exit_code(self) -> int | None:
        return None

    def printed(self, text: str) -> bool:
        return False

    def listeners(self) -> list[Listener] | None:
        return None


def test_the_readiness_poll_names_a_plain_http_answer(
    spawn_ssl: InternalSSL, plain_server: str
) -> None:
    session = spawn_ssl.client("jupyter-test").session()
    up = HubReady(_PlainServer(plain_server), "is running at", session).check()
    assert up is not None and up.seconds is None
    assert up.plain_http == 200
    assert up.tls_error  # the handshake's own reason is kept as evidence


def test_plain_http_status_is_none_for_a_tls_server(tls_server: str) -> None:
    assert plain_http_status(f"https://{tls_server}/") is None


def test_causes_are_named_from_what_was_seen() -> None:
    plain = tls_cause(UpResult(seconds=None, plain_http=200), (), 8443)
    assert plain is not None
    assert "plain HTTP (200) on port 8443" in plain.message
    assert "JUPYTERHUB_SSL_*" in plain.message and "must not unset" in plain.fix

    refused = tls_cause(UpResult(seconds=None, exit_code=1), ("TLSV1_ALERT_UNKNOWN_CA",), 8443)
    assert refused is not None
    assert refused.message.startswith("the container exited with code 1")
    assert "does not trust the hub's certificate" in refused.message
    assert "JUPYTERHUB_SSL_CLIENT_CA" in refused.message

    handshake = tls_cause(UpResult(seconds=None, timed_out=True, tls_error="X"), (), 8443)
    assert handshake is not None and "TLS handshake on port 8443 fails (X)" in handshake.message
    # An exit without TLS evidence keeps the ordinary diagnosis.
    assert tls_cause(UpResult(seconds=None, exit_code=1, tls_error="X"), (), 8443) is None
    assert tls_cause(UpResult(seconds=None, timed_out=True), (), 8443) is None


def test_the_readiness_poll_ends_once_handshakes_keep_failing(
    tls_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A server with certificates of another CA than the spawn's: every handshake fails.
    monkeypatch.setattr(waiting, "TLS_SETTLE_S", 0.0)
    with InternalSSL() as other:
        ready = HubReady(_PlainServer(tls_server), "is running at", other.client("x").session())
        assert ready.check() is None  # one failure is not yet the settled answer
        up = ready.check()
    assert up is not None and up.plain_http is None
    assert up.tls_error is not None and "CERTIFICATE_VERIFY_FAILED" in up.tls_error
    cause = tls_cause(up, (), 8443)
    assert cause is not None and "do not set the server's own certfile" in cause.fix
