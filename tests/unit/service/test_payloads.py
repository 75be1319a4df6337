"""Every registry's webhook format, from real-shaped samples, normalised to pushes of
tagged manifests; everything else ignored with a reason, malformed bodies refused."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.service import payload
from validator.reference import ImageQuery, parse_query
from validator.service.events import Ignored, Parsed, PayloadError, Push, push
from validator.service.jsonbody import decode as decode_json
from validator.service.payloads import distribution, dockerhub, github, harbor, quay


def _only_push(parsed: Parsed) -> Push:
    assert len(parsed.pushes) == 1, parsed
    return parsed.pushes[0]


def test_distribution_v1_manifest_push_captured_from_debian_registry() -> None:
    parsed = distribution.parse(payload("distribution-v1-manifest-push.json"))
    assert parsed.pushes == (
        Push(
            "127.0.0.1:18098",
            "team/x",
            "v1",
            "sha256:9d5c3567c9b57347fed05fe7e6569c4025fe123f776469498cb3692289076d5e",
        ),
    )
    assert parsed.ignored == ()


def test_distribution_blob_pull_is_ignored() -> None:
    parsed = distribution.parse(payload("distribution-v1-blob-pull.json"))
    assert parsed.pushes == ()
    assert "not a push" in parsed.ignored[0].reason


def test_distribution_v2_multi_platform_push_keeps_only_the_tagged_index() -> None:
    parsed = distribution.parse(payload("distribution-v2-index-push.json"))
    push = _only_push(parsed)
    assert (push.registry, push.repository, push.tag) == (
        "registry.example.org",
        "lab/notebook",
        "2025.11",
    )
    assert push.digest == "sha256:" + "2" * 64
    reasons = [i.reason for i in parsed.ignored]
    assert reasons == [
        "a manifest pushed by digest, without a tag",
        "action 'delete' is not a push",
    ]


def test_distribution_blob_push_is_not_a_manifest() -> None:
    document = payload("distribution-v1-manifest-push.json")
    document["events"][0]["target"]["mediaType"] = "application/octet-stream"
    parsed = distribution.parse(document)
    assert parsed.pushes == ()
    assert "not an image manifest" in parsed.ignored[0].reason


def test_distribution_host_falls_back_to_the_target_url() -> None:
    document = payload("distribution-v1-manifest-push.json")
    del document["events"][0]["request"]
    assert _only_push(distribution.parse(document)).registry == "127.0.0.1:18098"


def test_gitlab_registry_event() -> None:
    push = _only_push(distribution.parse(payload("gitlab-push.json")))
    assert push == Push(
        "gitlab.example.com:5050", "group/project/notebook", "main", "sha256:" + "4" * 64
    )


def test_harbor_default_format() -> None:
    push = _only_push(harbor.parse(payload("harbor-push-artifact.json")))
    assert push == Push("harbor.example.net", "science/jupyter", "v3", "sha256:" + "5" * 64)


def test_harbor_cloudevents_format_drops_the_push_by_digest() -> None:
    parsed = harbor.parse(payload("harbor-cloudevents-push.json"))
    assert _only_push(parsed) == Push(
        "harbor.example.net", "science/jupyter", "latest", "sha256:" + "6" * 64
    )
    assert parsed.ignored[0].reason == "an artifact pushed by digest, without a tag"


def test_harbor_pull_is_ignored() -> None:
    parsed = harbor.parse(payload("harbor-pull-artifact.json"))
    assert parsed.pushes == ()
    assert parsed.ignored[0].reason == "PULL_ARTIFACT is not a push"


def test_github_registry_package_published() -> None:
    push = _only_push(
        github.parse("registry_package", payload("github-registry-package-published.json"))
    )
    # The owner is lower-cased, as ghcr.io serves it.
    assert push == Push("ghcr.io", "example-org/notebook", "1.4.0", "sha256:" + "7" * 64)


def test_github_untagged_manifest_of_a_multi_platform_push_is_ignored() -> None:
    parsed = github.parse("registry_package", payload("github-registry-package-untagged.json"))
    assert parsed.pushes == ()
    assert "without a tag" in parsed.ignored[0].reason


@pytest.mark.parametrize(
    ("event", "change", "reason"),
    [
        ("push", {}, "is not a package push"),
        ("registry_package", {"action": "deleted"}, "action 'deleted' is not a push"),
        ("package", {"action": "updated"}, None),
    ],
)
def test_github_other_events(event: str, change: dict[str, Any], reason: str | None) -> None:
    document = {**payload("github-registry-package-published.json"), **change}
    parsed = github.parse(event, document)
    if reason is None:
        assert len(parsed.pushes) == 1
    else:
        assert parsed.pushes == () and reason in parsed.ignored[0].reason


def test_github_npm_package_is_ignored() -> None:
    document = payload("github-registry-package-published.json")
    document["registry_package"]["package_type"] = "npm"
    assert "not a container image" in github.parse("package", document).ignored[0].reason


def test_github_digest_falls_back_to_the_version() -> None:
    document = payload("github-registry-package-published.json")
    document["registry_package"]["package_version"]["container_metadata"]["tag"]["digest"] = ""
    assert _only_push(github.parse("registry_package", document)).digest == "sha256:" + "7" * 64


def test_docker_hub_has_no_digest() -> None:
    push = _only_push(dockerhub.parse(payload("dockerhub-push.json")))
    assert push == Push("docker.io", "example/notebook", "2025-11-20", None)


def test_docker_hub_official_image_is_under_library() -> None:
    document = payload("dockerhub-push.json")
    document["repository"]["repo_name"] = "ubuntu"
    assert _only_push(dockerhub.parse(document)).repository == "library/ubuntu"


def test_quay_list_of_tags() -> None:
    parsed = quay.parse(payload("quay-push.json"))
    assert parsed.pushes == (
        Push("quay.io", "example/notebook", "latest"),
        Push("quay.io", "example/notebook", "v2"),
    )


def test_quay_legacy_mapping_of_tags_on_a_self_hosted_quay() -> None:
    parsed = quay.parse(payload("quay-push-legacy.json"))
    assert parsed.pushes == (Push("quay.example.edu", "example/notebook", "v1"),)


def test_names_that_are_no_image_reference_are_ignored() -> None:
    document = payload("distribution-v1-manifest-push.json")
    document["events"][0]["target"]["repository"] = "Team/X"
    parsed = distribution.parse(document)
    assert parsed.pushes == () and "upper-case" in parsed.ignored[0].reason
    document = payload("distribution-v1-manifest-push.json")
    document["events"][0]["target"]["digest"] = "md5:abc"
    assert "not sha256" in distribution.parse(document).ignored[0].reason


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty"),
        (b"{not json", "not valid JSON: Expecting property name"),
        (b"\xff\xfe{}", "not UTF-8"),
    ],
)
def test_decode_json_refuses_what_is_not_json(body: bytes, message: str) -> None:
    with pytest.raises(PayloadError, match=message):
        decode_json(body)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "the body must be a JSON object, got an array"),
        ({"events": {}}, "'events' must be a JSON array, got an object"),
        ({"events": ["x"]}, r"events\[0\] must be a JSON object, got a string"),
        ({"events": [{"action": 7}]}, r"events\[0\].action must be a string, got a number"),
    ],
)
def test_distribution_shape_errors_name_the_field(document: Any, message: str) -> None:
    with pytest.raises(PayloadError, match=message):
        distribution.parse(document)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
KEYS = st.sampled_from(
    ["events", "action", "target", "tag", "type", "data", "event_data", "resources",
     "push_data", "repository", "updated_tags", "docker_url", "registry_package"]
)  # fmt: skip
SHAPED = st.recursive(
    st.none() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(document=st.one_of(JSON, SHAPED))
def test_no_body_makes_a_parser_fail_otherwise_than_with_payload_error(document: Any) -> None:
    for parse in (
        distribution.parse,
        harbor.parse,
        dockerhub.parse,
        quay.parse,
        lambda d: github.parse("registry_package", d),
    ):
        try:
            parsed = parse(document)
        except PayloadError:
            continue
        assert all(isinstance(p, Push) for p in parsed.pushes)
        assert all(isinstance(i, Ignored) for i in parsed.ignored)


_HOSTS = st.sampled_from(
    ["Registry.Example.com", "ghcr.io", "localhost:5000", "INDEX.docker.io", "docker.io"]
)
_COMPONENT = st.from_regex(r"[a-z0-9]{1,6}(?:[._-][a-z0-9]{1,4})?", fullmatch=True)
_PATHS = st.lists(_COMPONENT, min_size=1, max_size=3).map("/".join)
_TAGS = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,12}", fullmatch=True)


@given(host=_HOSTS, path=_PATHS, tag=_TAGS)
def test_a_results_query_finds_what_a_push_stored(host: str, path: str, tag: str) -> None:
    # The webhook stores pushes under push()'s names and the results API looks them up
    # under parse_query's: both must fold hosts and Docker Hub names the same way.
    stored = push(host, path, tag)
    assert isinstance(stored, Push)
    assert parse_query(stored.image) == ImageQuery(stored.registry, stored.repository, tag)
    assert parse_query(f"{host}/{path}:{tag}") == ImageQuery(
        stored.registry, stored.repository, tag
    )


def test_decode_json_round_trips_samples() -> None:
    raw = json.dumps(payload("quay-push.json")).encode()
    assert decode_json(raw)["repository"] == "example/notebook"
