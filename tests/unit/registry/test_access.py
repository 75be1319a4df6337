"""The pure parts of image acquisition: registry URLs, matching them to the image, index
platforms, auth challenges, the engine's pull errors and the pull progress totals."""

from __future__ import annotations

import io
from typing import Any

import pytest

from validator.errors import (
    ImageNotFound,
    PlatformUnavailable,
    RegistryAuthError,
    RegistryMismatch,
    RegistryTLSError,
    RegistryUnreachable,
)
from validator.image import ImageInfo
from validator.reference import parse_reference
from validator.registry.client import (
    RegistryAccess,
    RegistryAddress,
    check_same_registry,
    parse_challenge,
    parse_registry_url,
    platform_matches,
    platforms_of,
)
from validator.registry.credentials import MASK, Credentials, Secret
from validator.registry.progress import Lines, PullState, fit, summary
from validator.registry.pull import explain


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("https://registry.example.com", RegistryAddress("registry.example.com", "https")),
        ("registry.example.com:5000", RegistryAddress("registry.example.com:5000")),
        ("https://127.0.0.1:5000/", RegistryAddress("127.0.0.1:5000", "https")),
        ("https://registry.example.com/v2/", RegistryAddress("registry.example.com", "https")),
        ("https://index.docker.io/v1/", RegistryAddress("docker.io", "https")),
        ("http://localhost:5000", RegistryAddress("localhost:5000", "http")),
        (
            "gitlab.example.com:5050/Group/Project",
            RegistryAddress("gitlab.example.com:5050", None, "group/project"),
        ),
    ],
)
def test_parse_registry_url(text: str, address: RegistryAddress) -> None:
    assert parse_registry_url(text) == address


@pytest.mark.parametrize("text", ["", "https://", "not a host", "https://exa mple.com"])
def test_parse_registry_url_rejects(text: str) -> None:
    with pytest.raises(RegistryMismatch, match="invalid registry"):
        parse_registry_url(text)


def test_full_path_matches_the_registry() -> None:
    address = parse_registry_url("https://127.0.0.1:5000")
    check_same_registry(parse_reference("https://127.0.0.1:5000/team/img:v1"), address, "x")
    check_same_registry(parse_reference("127.0.0.1:5000/team/img"), address, "x")


def test_short_name_against_a_private_registry_suggests_the_full_path() -> None:
    address = parse_registry_url("https://registry.example.com")
    with pytest.raises(RegistryMismatch) as info:
        check_same_registry(parse_reference("team/img:v1"), address, "team/img:v1")
    assert "is on docker.io but --registry names registry.example.com" in info.value.message
    assert info.value.hint is not None
    assert info.value.hint.endswith("registry.example.com/team/img:v1")


def test_namespace_in_the_registry_url_goes_into_the_suggestion() -> None:
    address = parse_registry_url("gitlab.example.com:5050/group/project")
    with pytest.raises(RegistryMismatch) as info:
        check_same_registry(parse_reference("img:v1"), address, "img:v1")
    assert (info.value.hint or "").endswith("gitlab.example.com:5050/group/project/img:v1")
    with pytest.raises(RegistryMismatch, match="not under"):
        check_same_registry(
            parse_reference("gitlab.example.com:5050/other/img:v1"), address, "other"
        )


def test_scheme_disagreement() -> None:
    with pytest.raises(RegistryMismatch, match="http://"):
        check_same_registry(
            parse_reference("http://r.example.com/a:1"),
            parse_registry_url("https://r.example.com"),
            "x",
        )


def test_scheme_for() -> None:
    access = RegistryAccess(address=parse_registry_url("http://r.example.com"))
    assert access.scheme_for(parse_reference("r.example.com/a")) == "http"
    assert access.scheme_for(parse_reference("https://r.example.com/a")) == "https"
    assert RegistryAccess().scheme_for(parse_reference("r.example.com/a")) == "https"


# --- indexes and challenges ---------------------------------------------------------

INDEX = {
    "manifests": [
        {"platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
        {"platform": {"os": "linux", "architecture": "amd64"}},
        {"platform": {"os": "unknown", "architecture": "unknown"}},  # an attestation
    ]
}


def test_platforms_of_an_index_skip_attestations() -> None:
    assert platforms_of(INDEX) == ("linux/arm64/v8", "linux/amd64")


@pytest.mark.parametrize(
    ("wanted", "entry", "ok"),
    [
        ("linux/amd64", {"os": "linux", "architecture": "amd64"}, True),
        ("linux/amd64", {"os": "linux", "architecture": "arm64"}, False),
        ("linux/arm64", {"os": "linux", "architecture": "arm64", "variant": "v8"}, True),
        ("linux/arm64/v8", {"os": "linux", "architecture": "arm64"}, False),
        ("linux/amd64", {"os": "windows", "architecture": "amd64"}, False),
    ],
)
def test_platform_matches(wanted: str, entry: dict[str, str], ok: bool) -> None:
    assert platform_matches(wanted, entry) is ok


def test_parse_challenge() -> None:
    scheme, params = parse_challenge(
        'Bearer realm="https://auth.example.com/token",service="registry",scope="repository:a:pull"'
    )
    assert scheme == "bearer"
    assert params == {
        "realm": "https://auth.example.com/token",
        "service": "registry",
        "scope": "repository:a:pull",
    }
    assert parse_challenge('Basic realm="x"') == ("basic", {"realm": "x"})


# --- the engine's pull errors -------------------------------------------------------

REF = parse_reference("registry.example.com/team/img:v1")
CREDS = Credentials("registry.example.com", "alice", Secret("s3cret"), "--password-stdin")


@pytest.mark.parametrize(
    ("message", "kind", "words"),
    [
        ("unauthorized: authentication required", RegistryAuthError, "user 'alice'"),
        ("denied: requested access to the resource is denied", RegistryAuthError, "denied"),
        (
            "manifest for registry.example.com/team/img:v1 not found: manifest unknown",
            ImageNotFound,
            "not found",
        ),
        (
            "no matching manifest for linux/amd64 in the manifest list entries",
            PlatformUnavailable,
            "platform",
        ),
        (
            "Get https://registry.example.com/v2/: x509: certificate signed by unknown authority",
            RegistryTLSError,
            "certs.d",
        ),
        (
            "Get https://r/v2/: http: server gave HTTP response to HTTPS client",
            RegistryTLSError,
            "insecure-registries",
        ),
        (
            'Get "https://r/v2/": dial tcp 10.0.0.1:443: connect: connection refused',
            RegistryUnreachable,
            "cannot reach",
        ),
    ],
)
def test_explain_engine_errors(message: str, kind: type, words: str) -> None:
    error = explain(message, REF, CREDS)
    assert type(error) is kind
    assert words in error.one_line()
    assert error.exit_code == 2


def test_explain_scrubs_the_password() -> None:
    error = explain("unauthorized: bad password s3cret for alice", REF, CREDS)
    assert "s3cret" not in error.one_line() and MASK in error.one_line()


def test_explain_without_login_suggests_one() -> None:
    error = explain("unauthorized: authentication required", REF, None)
    assert "--password-stdin" in error.one_line()


# --- digests of local images --------------------------------------------------------


def test_digest_for_only_counts_the_references_repository() -> None:
    image = ImageInfo(
        id="sha256:1",
        os="linux",
        architecture="amd64",
        repo_digests=("127.0.0.1:5000/team/plain@sha256:aaa", "jhiv-test/plain@sha256:bbb"),
    )
    assert image.digest_for(parse_reference("127.0.0.1:5000/team/plain:v1")) == "sha256:aaa"
    assert image.digest_for(parse_reference("jhiv-test/plain")) == "sha256:bbb"
    assert image.digest_for(parse_reference("other/name")) is None
    pushed_elsewhere = ImageInfo(
        id="sha256:1", os="linux", architecture="amd64", repo_digests=("r/x@sha256:aaa",)
    )
    assert pushed_elsewhere.digest_for(parse_reference("jhiv-test/plain")) is None


# --- progress -----------------------------------------------------------------------

EVENTS: list[dict[str, Any]] = [
    {"status": "Pulling from team/img", "id": "v1"},
    {"status": "Already exists", "id": "aaa"},
    {"status": "Pulling fs layer", "id": "bbb"},
    {
        "status": "Downloading",
        "id": "bbb",
        "progressDetail": {"current": 5_000_000, "total": 20_000_000},
    },
    {"status": "Download complete", "id": "bbb"},
    {"status": "Extracting", "id": "bbb", "progressDetail": {"current": 1, "total": 20_000_000}},
    {"status": "Pull complete", "id": "bbb"},
    {"status": "Digest: sha256:abc"},
    {"status": "Status: Downloaded newer image for registry.example.com/team/img:v1"},
]


def test_pull_state_totals() -> None:
    state = PullState()
    for event in EVENTS[:4]:
        state.apply(event)
    assert (state.layers_done, state.layer_count) == (1, 2)
    assert (state.bytes_done, state.bytes_total) == (5_000_000, 20_000_000)
    assert state.fraction() == 0.25
    for event in EVENTS[4:]:
        state.apply(event)
    assert (state.layers_done, state.layers_reused, state.bytes_done) == (2, 1, 20_000_000)
    assert state.digest == "sha256:abc"
    assert summary("img:v1", state, 2.0) == (
        "Pulled img:v1 in 2.0 s: 2 layers (1 new, 20.0 MB), sha256:abc"
    )


def test_progress_line_fits_the_terminal() -> None:
    state = PullState()
    for event in EVENTS[:4]:
        state.apply(event)
    line = fit("registry.example.com/" + "a" * 120 + ":v1", state, 80)
    assert len(line) <= 79
    assert line.endswith("1/2 layers 5.0/20.0 MB")


def test_ci_lines_are_few() -> None:
    out = io.StringIO()
    lines = Lines(out, every=3600)
    state = PullState()
    lines.start("img:v1", "linux/amd64")
    for event in EVENTS:
        state.apply(event)
        lines.update(state)
    lines.finish("img:v1", state, 1.0)
    assert out.getvalue().splitlines() == [
        "Pulling img:v1 for linux/amd64",
        "Pulled img:v1 in 1.0 s: 2 layers (1 new, 20.0 MB), sha256:abc",
    ]
