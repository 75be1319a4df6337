"""The registry handshake against a tiny token registry on loopback (no Docker): the
Bearer challenge, the token request with and without a login, digests and indexes.

The test registry of the integration tests (distribution with htpasswd) only speaks
Basic; GitLab, Harbor, Docker Hub and GHCR speak Bearer, which is covered here.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from tests.support.http_server import serving
from validator.errors import ImageNotFound, PlatformUnavailable, RegistryAuthError, RegistryTLSError
from validator.reference import parse_reference
from validator.registry.client import RegistryAccess, resolve
from validator.registry.credentials import Credentials, Secret

USER, PASSWORD, TOKEN = "alice", "s3cret-pw", "bearer-token-123"
INDEX_DIGEST = "sha256:" + "1" * 64
INDEX = {
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.index.v1+json",
    "manifests": [
        {"digest": "sha256:" + "2" * 64, "platform": {"os": "linux", "architecture": "amd64"}},
        {"digest": "sha256:" + "3" * 64, "platform": {"os": "linux", "architecture": "arm64"}},
    ],
}


class _Handler(BaseHTTPRequestHandler):
    # team/public is readable with an anonymous token; team/private needs the login.
    def do_GET(self) -> None:
        host = self.headers["Host"]
        if self.path.startswith("/token"):
            basic = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
            given = self.headers.get("Authorization")
            if given is not None and given != basic:
                return self._send(401, {"errors": [{"code": "UNAUTHORIZED"}]})
            scope_ok = (
                given is not None or "team%2Fpublic" in self.path or "team/public" in self.path
            )
            return self._send(200, {"token": TOKEN if scope_ok else "anonymous"})
        if self.headers.get("Authorization") not in (f"Bearer {TOKEN}",):
            self.send_response(401)
            self.send_header(
                "WWW-Authenticate", f'Bearer realm="http://{host}/token",service="test"'
            )
            self.end_headers()
            return None
        if self.path.endswith("/manifests/v1"):
            return self._send(
                200, INDEX, {"Docker-Content-Digest": INDEX_DIGEST}, str(INDEX["mediaType"])
            )
        if self.path.endswith("/tags/list"):
            return self._send(200, {"name": "x", "tags": ["v1"]})
        return self._send(404, {"errors": [{"code": "MANIFEST_UNKNOWN"}]})

    def _send(
        self,
        status: int,
        body: dict[str, Any],
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def host() -> Iterator[str]:
    with serving(_Handler) as address:
        yield address


def _access(host: str, password: str | None = PASSWORD) -> RegistryAccess:
    logins = (Credentials(host, USER, Secret(password), "--password-stdin"),) if password else ()
    return RegistryAccess(logins=logins, insecure=frozenset({host}))


def test_bearer_login_gives_the_index_digest_and_platforms(host: str) -> None:
    manifest = resolve(
        parse_reference(f"http://{host}/team/private:v1"), _access(host), "linux/amd64"
    )
    assert manifest.digest == INDEX_DIGEST
    assert manifest.is_index
    assert manifest.platforms == ("linux/amd64", "linux/arm64")


def test_anonymous_token_reads_a_public_repository(host: str) -> None:
    ref = parse_reference(f"http://{host}/team/public:v1")
    assert resolve(ref, _access(host, None), "linux/amd64").digest == INDEX_DIGEST


def test_private_repository_without_login(host: str) -> None:
    with pytest.raises(RegistryAuthError, match="requires a login"):
        resolve(
            parse_reference(f"http://{host}/team/private:v1"), _access(host, None), "linux/amd64"
        )


def test_wrong_password_at_the_token_service(host: str) -> None:
    with pytest.raises(RegistryAuthError) as info:
        resolve(
            parse_reference(f"http://{host}/team/private:v1"),
            _access(host, "wrong-pw"),
            "linux/amd64",
        )
    assert "'alice'" in info.value.message and host in info.value.message
    assert "wrong-pw" not in info.value.one_line()


def test_platform_missing_from_the_index(host: str) -> None:
    with pytest.raises(PlatformUnavailable) as info:
        resolve(parse_reference(f"http://{host}/team/private:v1"), _access(host), "linux/s390x")
    assert "linux/amd64, linux/arm64" in info.value.message


def test_missing_tag_lists_the_tags(host: str) -> None:
    with pytest.raises(ImageNotFound) as info:
        resolve(parse_reference(f"http://{host}/team/private:v9"), _access(host), "linux/amd64")
    assert "no tag 'v9'" in info.value.message and "v1" in (info.value.hint or "")


def test_plain_http_needs_insecure_registry(host: str) -> None:
    access = RegistryAccess(logins=_access(host).logins)
    with pytest.raises(RegistryTLSError, match="plain HTTP"):
        resolve(parse_reference(f"http://{host}/team/private:v1"), access, "linux/amd64")


def test_https_to_a_plain_http_registry_says_it_does_not_speak_tls(host: str) -> None:
    access = RegistryAccess(logins=_access(host).logins)
    with pytest.raises(RegistryTLSError) as info:
        resolve(parse_reference(f"https://{host}/team/private:v1"), access, "linux/amd64")
    assert "does not speak TLS" in info.value.message
    assert f"--insecure-registry {host}" in (info.value.hint or "")


def test_insecure_registry_falls_back_from_https_to_http(host: str) -> None:
    manifest = resolve(parse_reference(f"{host}/team/private:v1"), _access(host), "linux/amd64")
    assert manifest.digest == INDEX_DIGEST
