"""The compressed size a node downloads, from an image manifest's layers (pull-time)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from tests.support.http_server import serving
from validator.image import ImageInfo, Source, _with_layer_sizes
from validator.reference import parse_reference
from validator.registry.client import Manifest, RegistryAccess, layer_bytes, resolve


def test_layer_sizes_are_summed() -> None:
    manifest = {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"size": 7023},
        "layers": [{"size": 32654}, {"size": 16724}, {"size": 73109}],
    }
    assert layer_bytes(manifest) == 32654 + 16724 + 73109


def test_unknown_when_a_size_is_missing_or_there_are_no_layers() -> None:
    assert layer_bytes({"layers": [{"size": 1}, {"digest": "sha256:x"}]}) is None
    assert layer_bytes({"layers": [{"size": -1}]}) is None
    assert layer_bytes({"layers": []}) is None
    assert layer_bytes({"manifests": []}) is None


INDEX_DIGEST = "sha256:" + "1" * 64
AMD64 = "sha256:" + "2" * 64
ARM64 = "sha256:" + "3" * 64
INDEX = {
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.index.v1+json",
    "manifests": [
        {"digest": ARM64, "platform": {"os": "linux", "architecture": "arm64"}},
        {"digest": AMD64, "platform": {"os": "linux", "architecture": "amd64"}},
    ],
}
IMAGE = {
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "layers": [{"size": 1000}, {"size": 2000}],
}


class _Registry(BaseHTTPRequestHandler):
    # An anonymous registry holding one index; only its amd64 image is served.
    def do_GET(self) -> None:
        if self.path.endswith("/manifests/v1"):
            return self._send(INDEX, INDEX_DIGEST)
        if self.path.endswith(f"/manifests/{AMD64}"):
            return self._send(IMAGE, AMD64)
        self.send_response(404)
        self.end_headers()
        return None

    def _send(self, body: dict[str, Any], digest: str) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", str(body["mediaType"]))
        self.send_header("Docker-Content-Digest", digest)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def host() -> Iterator[str]:
    with serving(_Registry) as address:
        yield address


def test_an_index_gives_the_layers_of_the_hubs_platform(host: str) -> None:
    access = RegistryAccess(insecure=frozenset({host}))
    manifest = resolve(parse_reference(f"http://{host}/team/img:v1"), access, "linux/amd64")
    assert manifest.digest == INDEX_DIGEST
    assert manifest.layer_bytes == 3000


def test_a_platform_manifest_the_registry_withholds_leaves_the_size_unknown(host: str) -> None:
    access = RegistryAccess(insecure=frozenset({host}))
    manifest = resolve(parse_reference(f"http://{host}/team/img:v1"), access, "linux/arm64")
    assert manifest.digest == INDEX_DIGEST
    assert manifest.layer_bytes is None


def _local(digest: str) -> ImageInfo:
    return ImageInfo(
        id="sha256:" + "9" * 64,
        os="linux",
        architecture="amd64",
        size_bytes=5000,
        repo_digests=(f"registry.example.org/team/img@{digest}",),
    )


def test_the_size_reaches_the_image_only_when_it_describes_that_image() -> None:
    ref = parse_reference("registry.example.org/team/img:v1")
    manifest = Manifest(INDEX_DIGEST, str(INDEX["mediaType"]), layer_bytes=3000)
    same = Source(ref, _local(INDEX_DIGEST), must_pull=False, manifest=manifest)
    assert _with_layer_sizes(_local(INDEX_DIGEST), same).compressed_bytes == 3000
    other = Source(ref, _local(AMD64), must_pull=False, manifest=manifest)
    assert _with_layer_sizes(_local(AMD64), other).compressed_bytes is None
    pulled = Source(ref, None, must_pull=True, manifest=manifest)
    assert _with_layer_sizes(_local(AMD64), pulled).compressed_bytes == 3000
