"""The test-image registry and builder: fast checks on the data, plus real builds.

The ``docker``-marked tests build through the session fixtures, so in a full
run they reuse the images the integration tests build anyway.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from tests.support import images
from tests.support.images import IMAGES, IMAGES_DIR, ImageBuildError, UnknownImageError


def _stages(dockerfile: str) -> list[str]:
    """The Dockerfile split at each FROM line; the first element is the preamble."""
    return re.split(r"^FROM\s", dockerfile, flags=re.MULTILINE)


def _dockerfile(name: str) -> str:
    return (IMAGES[name].context_dir / "Dockerfile").read_text(encoding="utf-8")


def test_every_image_directory_is_used_and_every_entry_has_a_dockerfile() -> None:
    on_disk = {path.parent for path in IMAGES_DIR.glob("*/Dockerfile")}
    assert on_disk == {spec.context_dir for spec in IMAGES.values()}


def test_parents_come_before_their_children() -> None:
    order = images.build_order(IMAGES)
    assert sorted(order) == sorted(IMAGES)
    for spec in IMAGES.values():
        if spec.parent is not None:
            assert order.index(spec.parent) < order.index(spec.name), spec.name


def test_build_order_adds_each_ancestor_once() -> None:
    assert images.build_order(["good", "no-cmd", "plain"]) == [
        "base",
        "jupyter-env",
        "good",
        "no-cmd",
        "plain",
    ]


def test_unknown_names_are_rejected_with_the_known_ones() -> None:
    with pytest.raises(UnknownImageError, match=r"'nope'.*known images: base, "):
        images.build_order(["good", "nope"])
    with pytest.raises(UnknownImageError):
        images.tag_for("nope")


def test_tags() -> None:
    assert images.tag_for("good") == "jhiv-test/good:latest"
    assert images.builder_tag_for("hub-only") == "jhiv-test/hub-only:builder"


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_dockerfile_declares_the_build_args_it_is_given(name: str) -> None:
    spec = IMAGES[name]
    declared = set(re.findall(r"^ARG\s+(\w+)", _dockerfile(name), flags=re.MULTILINE))
    expected = {"ROOT_IMAGE" if spec.parent is None else "BASE_IMAGE", *spec.buildargs}
    assert expected <= declared


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_build_ca_is_used_in_the_builder_stage_only(name: str) -> None:
    stages = _stages(_dockerfile(name))
    final = stages[-1]
    assert images.CA_FILE_NAME not in final
    assert "PIP_CERT" not in final
    users = [stage for stage in stages[1:] if images.CA_FILE_NAME in stage]
    for stage in users:
        assert stage.split("\n", 1)[0].split()[-1] == "builder", stage
    assert bool(users) == images.has_builder_stage(IMAGES[name])


class _FakeAPI:
    """Stands in for ``docker.APIClient.build``: records each call, replays chunks."""

    def __init__(self, chunks: list[dict[str, Any]]) -> None:
        self.chunks = chunks
        self.calls: list[dict[str, Any]] = []
        self.ca_seen: list[bytes] = []

    def build(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        self.calls.append(kwargs)
        # Read now: the temporary context is gone once the build returns.
        self.ca_seen.append((Path(kwargs["path"]) / images.CA_FILE_NAME).read_bytes())
        return iter(self.chunks)


class _FakeClient:
    def __init__(self, chunks: list[dict[str, Any]]) -> None:
        self.api = _FakeAPI(chunks)


def test_build_one_passes_the_parent_tag_labels_and_an_empty_ca_placeholder() -> None:
    client = _FakeClient([{"stream": "Step 1/2 : FROM x\n"}, {"aux": {"ID": "sha256:" + "a" * 64}}])
    built = images.build_one(client, "slow-start", root_image="root:x", ca_bundle=None)

    assert built.tag == "jhiv-test/slow-start:latest"
    assert built.image_id == "sha256:" + "a" * 64
    [call] = client.api.calls
    assert call["buildargs"] == {
        "BASE_IMAGE": "jhiv-test/jupyter-env:latest",
        "SLOW_START_SECONDS": "45",
    }
    assert call["labels"] == {images.TEST_LABEL: "true"}
    assert call["rm"] and call["forcerm"] and not call["pull"]
    assert client.api.ca_seen == [b""]


def test_build_one_tags_the_builder_stage_and_copies_the_ca(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_bytes(b"-----BEGIN CERTIFICATE-----\n")
    client = _FakeClient([{"aux": {"ID": "sha256:" + "b" * 64}}])
    images.build_one(client, "hub-only", root_image="root:x", ca_bundle=ca)

    builder, final = client.api.calls
    assert (builder["tag"], builder["target"]) == ("jhiv-test/hub-only:builder", "builder")
    assert builder["labels"] == {images.TEST_LABEL: "builder"}
    assert (final["tag"], final["target"]) == ("jhiv-test/hub-only:latest", None)
    assert client.api.ca_seen == [ca.read_bytes()] * 2


def test_root_images_get_the_root_image_argument() -> None:
    client = _FakeClient([{"aux": {"ID": "sha256:" + "c" * 64}}])
    images.build_one(client, "plain", root_image="root:x", ca_bundle=None)
    assert client.api.calls[0]["buildargs"] == {"ROOT_IMAGE": "root:x"}


def test_a_failed_build_reports_the_reason_and_the_log_tail() -> None:
    client = _FakeClient(
        [
            {"stream": "Step 3/5 : RUN pip install jupyterhub==0.0.0\n"},
            {"stream": "ERROR: No matching distribution found for jupyterhub==0.0.0\n"},
            {"error": "returned a non-zero code: 1", "errorDetail": {"message": "exit 1"}},
        ]
    )
    with pytest.raises(ImageBuildError) as caught:
        images.build(client, ["good"], root_image="root:x", ca_bundle=None)

    error = caught.value
    assert error.name == "base"  # the first image in the chain fails; nothing after it runs
    assert error.reason == "exit 1"
    assert "No matching distribution found" in str(error)
    assert len(client.api.calls) == 1


# Real builds ---------------------------------------------------------------------------


@pytest.mark.docker
@pytest.mark.parametrize(
    ("name", "exit_code", "output"),
    [
        ("good", 0, images.JUPYTERHUB_VERSION),
        ("hub-only", 1, "ImportError: Failed to import default single-user server"),
    ],
)
def test_singleuser_version_in_built_images(
    docker_client: docker.DockerClient,
    build_image: Callable[[str], str],
    name: str,
    exit_code: int,
    output: str,
) -> None:
    tag = build_image(name)
    container = docker_client.containers.run(
        tag, ["jupyterhub-singleuser", "--version"], detach=True
    )
    try:
        result = container.wait(timeout=120)
        logs = container.logs().decode(errors="replace")
    finally:
        container.remove(force=True)
    assert result["StatusCode"] == exit_code, logs
    assert output in logs


@pytest.mark.docker
@pytest.mark.parametrize("name", ["good", "hub-only"])
def test_built_images_are_labelled_and_carry_no_build_ca(
    docker_client: docker.DockerClient, build_image: Callable[[str], str], name: str
) -> None:
    image = docker_client.images.get(build_image(name))
    assert image.labels.get(images.TEST_LABEL) == "true"
    history = " ".join(str(layer.get("CreatedBy", "")) for layer in image.history())
    assert images.CA_FILE_NAME not in history
    assert "PIP_CERT" not in history
    found = docker_client.containers.run(
        image.id,
        ["sh", "-c", f"find / -xdev -name '{images.CA_FILE_NAME}' 2>/dev/null; true"],
        user="0",
        remove=True,
    )
    assert found.decode().strip() == ""
