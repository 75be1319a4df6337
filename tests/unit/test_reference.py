"""parse_reference: every form users type, by example and by property."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from validator.errors import InvalidReference
from validator.redact import redact_url
from validator.reference import (
    DOCKER_HUB,
    ImageQuery,
    ImageRef,
    parse_query,
    parse_reference,
    split_registry,
    split_url,
)

DIGEST = "sha256:" + "0123456789abcdef" * 4
HUB_ALIASES = {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}

# --- the grammar, as strategies -------------------------------------------------------

_label = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,6}[a-z0-9])?", fullmatch=True)
_port = st.integers(min_value=1, max_value=65535).map(str)
_component = st.from_regex(r"[a-z0-9]{1,6}(?:(?:[._]|__|-{1,3})[a-z0-9]{1,6}){0,2}", fullmatch=True)
_tag = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True)
_digest = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64).map(
    lambda hex_: f"sha256:{hex_}"
)
_scheme = st.sampled_from(["http://", "https://", "HTTPS://", "Http://"])


@st.composite
def _hosts(draw: st.DrawFn) -> str:
    """A registry host Docker recognises as one: dotted, localhost, or with a port."""
    kind = draw(st.sampled_from(["dotted", "localhost", "named-with-port"]))
    if kind == "dotted":
        host = ".".join(draw(st.lists(_label, min_size=2, max_size=3)))
    elif kind == "localhost":
        host = "localhost"
    else:
        host = draw(_label)
    needs_port = kind == "named-with-port"
    port = draw(_port if needs_port else st.none() | _port)
    return f"{host}:{port}" if port else host


@st.composite
def _references(draw: st.DrawFn) -> tuple[str, ImageRef]:
    """A reference as typed (without a scheme) and the ImageRef it must parse to."""
    host = draw(st.none() | _hosts())
    components = draw(st.lists(_component, min_size=1, max_size=3))
    if host is None and len(components) > 1:
        # Otherwise the first component would be read as a registry host.
        assume("." not in components[0] and components[0] != "localhost")
    tag = draw(st.none() | _tag)
    digest = draw(st.none() | _digest)

    text = "/".join(components)
    if host is not None:
        text = f"{host}/{text}"
    if tag is not None:
        text += f":{tag}"
    if digest is not None:
        text += f"@{digest}"

    registry = DOCKER_HUB if host is None or host in HUB_ALIASES else host
    repository = "/".join(components)
    if registry == DOCKER_HUB and len(components) == 1:
        repository = f"library/{repository}"
    if tag is None and digest is None:
        tag = "latest"
    return text, ImageRef(registry=registry, repository=repository, tag=tag, digest=digest)


def _without_scheme(ref: ImageRef) -> ImageRef:
    return dataclasses.replace(ref, scheme=None)


# --- properties ---------------------------------------------------------------------


@given(_references())
def test_generated_references_parse_to_their_parts(case: tuple[str, ImageRef]) -> None:
    text, expected = case
    assert parse_reference(text) == expected


@given(_references())
def test_canonical_form_round_trips(case: tuple[str, ImageRef]) -> None:
    ref = parse_reference(case[0])
    assert parse_reference(ref.canonical) == _without_scheme(ref)
    assert str(ref) == ref.canonical


@given(_references())
def test_canonical_form_names_registry_and_tag_or_digest(case: tuple[str, ImageRef]) -> None:
    ref = parse_reference(case[0])
    canonical = ref.canonical
    assert canonical.startswith(f"{ref.registry}/{ref.repository}")
    rest = canonical.removeprefix(ref.name)
    assert rest.startswith((":", "@"))
    assert ref.tag is not None or ref.digest is not None


@given(_references())
def test_docker_hub_single_names_get_library(case: tuple[str, ImageRef]) -> None:
    ref = parse_reference(case[0])
    if ref.registry == DOCKER_HUB:
        assert "/" in ref.repository


@given(
    _hosts(),
    st.lists(_component, min_size=1, max_size=3),
    st.sampled_from(["", ":v1", f"@{DIGEST}", f":v1@{DIGEST}"]),
    _scheme,
    st.sampled_from(["", "/"]),
)
def test_url_form_equals_bare_form(
    host: str, components: list[str], suffix: str, scheme: str, trailing_slash: str
) -> None:
    bare = f"{host}/{'/'.join(components)}{suffix}"
    ref = parse_reference(f"{scheme}{bare}{trailing_slash}")
    assert ref.scheme == scheme.removesuffix("://").lower()
    assert _without_scheme(ref) == parse_reference(bare)


_REFERENCE_CHARS = "abcz019AZ._-:/@ \t\n" + "sha256" + "[]" + "é\x00"


@given(st.text() | st.text(alphabet=_REFERENCE_CHARS, max_size=60))
@example("https://")
@example("http://x")
@example("@")
@example(":")
@example("/")
@example("[::1]:5000/a")
@example("a" * 300)
def test_arbitrary_text_parses_or_raises_invalid_reference(text: str) -> None:
    try:
        ref = parse_reference(text)
    except InvalidReference as exc:
        message = str(exc)
        assert message.startswith(f"invalid image reference {redact_url(text)!r}: ")
        assert "\n" not in message
        assert "\n" not in exc.one_line()
        return
    # Whatever parses has a canonical form that parses back to itself.
    assert parse_reference(ref.canonical) == _without_scheme(ref)


# --- examples -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "canonical", "scheme"),
    [
        ("ubuntu", "docker.io/library/ubuntu:latest", None),
        ("  ubuntu\n", "docker.io/library/ubuntu:latest", None),
        ("ubuntu:24.04", "docker.io/library/ubuntu:24.04", None),
        ("jupyter/datascience-notebook", "docker.io/jupyter/datascience-notebook:latest", None),
        ("docker.io/ubuntu", "docker.io/library/ubuntu:latest", None),
        ("index.docker.io/ubuntu", "docker.io/library/ubuntu:latest", None),
        (
            "index.docker.io/jupyter/base-notebook:2024-01-15",
            "docker.io/jupyter/base-notebook:2024-01-15",
            None,
        ),
        ("registry-1.docker.io/library/python:3.12", "docker.io/library/python:3.12", None),
        ("quay.io/jupyter/scipy-notebook", "quay.io/jupyter/scipy-notebook:latest", None),
        (
            "https://registry.example.com/myimage:latest",
            "registry.example.com/myimage:latest",
            "https",
        ),
        ("HTTP://localhost:5000/img/", "localhost:5000/img:latest", "http"),
        ("https://index.docker.io/ubuntu", "docker.io/library/ubuntu:latest", "https"),
        (f"localhost:5000/a/b:t@{DIGEST}", f"localhost:5000/a/b:t@{DIGEST}", None),
        (f"ubuntu@{DIGEST}", f"docker.io/library/ubuntu@{DIGEST}", None),
        ("[::1]:5000/team/img:v2", "[::1]:5000/team/img:v2", None),
        ("localhost/img", "localhost/img:latest", None),
        ("a__b/c-d.e--f:_", "docker.io/a__b/c-d.e--f:_", None),
    ],
)
def test_examples(text: str, canonical: str, scheme: str | None) -> None:
    ref = parse_reference(text)
    assert ref.canonical == canonical
    assert ref.scheme == scheme


def test_parts_of_a_full_reference() -> None:
    ref = parse_reference(f"localhost:5000/a/b:t@{DIGEST}")
    assert ref == ImageRef(registry="localhost:5000", repository="a/b", tag="t", digest=DIGEST)
    assert ref.name == "localhost:5000/a/b"
    assert not ref.is_docker_hub


@pytest.mark.parametrize(
    ("text", "familiar"),
    [
        ("ubuntu", "ubuntu:latest"),
        ("jupyter/base-notebook:x", "jupyter/base-notebook:x"),
        ("https://registry.example.com/myimage:latest", "registry.example.com/myimage:latest"),
    ],
)
def test_familiar_form(text: str, familiar: str) -> None:
    assert parse_reference(text).familiar == familiar


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("ubuntu latest", "white space"),
        ("jupyter/base notebook", "white space"),
        ("Ubuntu", "upper-case"),
        ("jupyter/Base-Notebook", "upper-case"),
        ("ubuntu:", "tag ''"),
        ("ubuntu:-rc1", "tag '-rc1'"),
        ("ubuntu:" + "a" * 129, "tag"),
        ("ubuntu@sha256:abc", "digest 'sha256:abc'"),
        (f"ubuntu@md5:{DIGEST[7:]}", "digest"),
        (f"ubuntu@{DIGEST.upper()}", "digest"),
        ("https://registry.example.com", "must name an image"),
        ("https://registry.example.com/", "must name an image"),
        ("https://", "must name an image"),
        ("https://jupyter/base-notebook", "registry host"),
        ("registry.example.com/", "no repository"),
        ("bad_host.example.com/img", "registry host 'bad_host.example.com'"),
        ("a//b", "path component ''"),
        ("a/-b", "path component '-b'"),
        ("registry.example.com/" + "a" * 250, "longer than 255"),
    ],
)
def test_invalid_references(text: str, reason: str) -> None:
    with pytest.raises(InvalidReference) as caught:
        parse_reference(text)
    message = str(caught.value)
    assert message.startswith(f"invalid image reference {text!r}: ")
    assert reason in message
    assert "\n" not in caught.value.one_line()
    assert isinstance(caught.value, ValueError)
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(
    "text",
    [
        "https://user:s3cret@registry.example.com/lab/img:latest",
        "user:s3cret@registry.example.com/lab/img",
        "s3cret@registry.example.com/lab/img:1.0",
        "http://:s3cret@registry.example.com/img",
        "https://user:s3cret@registry.example.com/Lab Img",
    ],
)
def test_credentials_in_a_reference_are_refused_and_never_echoed(text: str) -> None:
    # Before, the '@' was read as a digest and the error quoted the token back.
    with pytest.raises(InvalidReference) as caught:
        parse_reference(text)
    shown = caught.value.one_line()
    assert "s3cret" not in shown
    assert "user name or token" in shown and "--password-stdin" in shown
    assert caught.value.exit_code == 2


@given(st.text(alphabet="abc:/@.", min_size=1, max_size=12))
def test_no_error_quotes_what_redaction_hides(userinfo: str) -> None:
    text = f"https://{userinfo}:s3cret@registry.example.com/img"
    try:
        parse_reference(text)
    except InvalidReference as exc:
        assert "s3cret" not in exc.one_line()


# --- the query form (the service's results API) ---------------------------------------


@given(_references())
def test_query_of_a_reference_names_the_same_image(case: tuple[str, ImageRef]) -> None:
    text, expected = case
    query = parse_query(text)
    assert (query.registry, query.repository, query.digest) == (
        expected.registry,
        expected.repository,
        expected.digest,
    )
    # A query without a tag means every tag; only a reference defaults to latest.
    if expected.digest is None:
        assert (query.tag or "latest") == expected.tag
    else:
        assert query.tag == expected.tag


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ("ubuntu", ImageQuery(DOCKER_HUB, "library/ubuntu")),
        ("team/img:1.0", ImageQuery(DOCKER_HUB, "team/img", "1.0")),
        ("Registry.Example.com/team/img", ImageQuery("registry.example.com", "team/img")),
        ("INDEX.docker.io/team/img", ImageQuery(DOCKER_HUB, "team/img")),
        ("localhost:5000/img:v1", ImageQuery("localhost:5000", "img", "v1")),
        (f" reg.example.com/img@{DIGEST} ", ImageQuery("reg.example.com", "img", None, DIGEST)),
    ],
)
def test_query_examples(text: str, query: ImageQuery) -> None:
    assert parse_query(text) == query


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("reg.example.com/img@sha256:abc", "digest 'sha256:abc' is not sha256: and 64 hex"),
        ("reg.example.com/Img", "has upper-case letters"),
        ("reg.example.com/img:-bad", "is not valid"),
    ],
)
def test_invalid_queries_raise_invalid_reference(text: str, reason: str) -> None:
    with pytest.raises(InvalidReference) as info:
        parse_query(text)
    assert reason in info.value.message


@pytest.mark.parametrize(
    ("path", "parts"),
    [
        ("team/img", (None, "team/img")),
        ("img", (None, "img")),
        ("reg.example.com/team/img", ("reg.example.com", "team/img")),
        ("host:5000/img", ("host:5000", "img")),
        ("localhost/img", ("localhost", "img")),
        ("[::1]/img", ("[::1]", "img")),
        ("reg.example.com", (None, "reg.example.com")),
    ],
)
def test_split_registry(path: str, parts: tuple[str | None, str]) -> None:
    assert split_registry(path) == parts


@pytest.mark.parametrize(
    ("url", "parts"),
    [
        ("ghcr.io/owner/img:1.0", ("ghcr.io", "owner/img")),
        ("https://harbor.example.com/lib/img:v@" + DIGEST, ("harbor.example.com", "lib/img")),
        ("http://reg:5000/a/b/c", ("reg:5000", "a/b/c")),
        ("reg.example.com", ("reg.example.com", "")),
    ],
)
def test_split_url_keeps_host_and_path(url: str, parts: tuple[str, str]) -> None:
    assert split_url(url) == parts
