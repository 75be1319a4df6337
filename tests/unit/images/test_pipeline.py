"""The pipeline's rules, with Docker replaced by fakes: a failing image is not tagged,
its children are not built, and a passing one is tagged and described."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from validator.findings import Finding, Report, Status
from validator.images import pipeline as pipeline_module
from validator.images.lint import LintResult
from validator.images.manifest import ImageFacts
from validator.images.pipeline import Config, Outcome, Pipeline
from validator.images.render import RenderSettings
from validator.registry.credentials import Credentials, Secret

REPO = Path(__file__).resolve().parents[3]
FACTS = ImageFacts(
    python_version="3.11.2",
    prefix="/opt/venv",
    os_release={"ID": "debian", "VERSION_ID": "12", "PRETTY_NAME": "Debian 12"},
    python_packages=[("jupyterhub", "5.4.6")],
    conda_packages=[],
    apt_packages=[("tini", "0.19")],
)


class FakeImages:
    def get(self, reference: str) -> Any:
        return SimpleNamespace(id=f"sha256:{abs(hash(reference)):064d}"[:71], attrs={"Size": 1})


def report(status: Status) -> Report:
    r = Report(reference="x", profile="jupyter4nfdi", hub_version="5.4.6", validator_version="0")
    r.add(Finding("server-starts", status, "seen"))
    return r


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[Any]]:
    seen: dict[str, list[Any]] = {"build": [], "tag": [], "untag": [], "verify": []}

    def build(client: Any, key: str, context: Path, **kwargs: Any) -> str:
        seen["build"].append((key, kwargs["buildargs"]))
        return f"sha256:{key}"

    monkeypatch.setattr("validator.images.pipeline.engine.build", build)
    monkeypatch.setattr(
        pipeline_module, "lint_targets", lambda *a: LintResult((), True, ("Dockerfile",))
    )
    monkeypatch.setattr(pipeline_module, "collect_facts", lambda client, image: FACTS)

    def apply_tags(client: Any, image_id: str, repo: str, tags: Any) -> list[str]:
        seen["tag"].append(image_id)
        return [f"{repo}:x"]

    monkeypatch.setattr("validator.images.pipeline.publish.apply_tags", apply_tags)
    monkeypatch.setattr(
        "validator.images.pipeline.publish.untag",
        lambda client, ref: seen["untag"].append(ref),
    )
    return seen


def run(tmp_path: Path, verdict: Status, calls: dict[str, list[Any]], monkeypatch: Any) -> Any:
    def verify(client: Any, reference: str, **kwargs: Any) -> Report:
        calls["verify"].append((reference, kwargs))
        return report(verdict)

    monkeypatch.setattr(pipeline_module, "verify", verify)
    config = Config(
        templates=REPO / "templates",
        catalogue=REPO / "base-images",
        out=tmp_path,
        hubs=("5.4.6",),
        settings=RenderSettings(root_image="debian:bookworm"),
    )
    client: Any = SimpleNamespace(images=FakeImages())
    return Pipeline(config, client, lambda message: None).run(["minimal"])


def test_a_failing_image_is_not_tagged_and_its_children_not_built(
    tmp_path: Path, calls: dict[str, list[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    results = run(tmp_path, Status.FAIL, calls, monkeypatch)
    outcomes = {r.target.key: r.outcome for r in results}
    assert outcomes == {
        "foundation": Outcome.PASSED,
        "base-hub-5.4.6": Outcome.INVALID,
        "minimal-hub-5.4.6": Outcome.SKIPPED,
    }
    assert calls["tag"] == ["sha256:foundation"]  # only the foundation got tags
    assert "jhiv/base:candidate-base-hub-5.4.6" in calls["untag"]
    assert [key for key, _ in calls["build"]] == ["foundation", "base-hub-5.4.6"]
    assert (tmp_path / "reports" / "base-hub-5.4.6.json").is_file()
    assert not (tmp_path / "manifests" / "base-hub-5.4.6.md").exists()


def test_passing_images_are_chained_by_id_validated_for_their_hub_and_described(
    tmp_path: Path, calls: dict[str, list[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    results = run(tmp_path, Status.PASS, calls, monkeypatch)
    assert all(r.outcome is Outcome.PASSED for r in results)
    assert calls["build"][0][1] == {"ROOT_IMAGE": "debian:bookworm"}
    assert calls["build"][1][1] == {"BASE_IMAGE": "sha256:foundation"}
    assert calls["build"][2][1] == {"BASE_IMAGE": "sha256:base-hub-5.4.6"}
    assert all(kw["hub_version"] == "5.4.6" for _, kw in calls["verify"])
    assert all(kw["profile_name"] == "jupyter4nfdi" for _, kw in calls["verify"])
    for key in ("foundation", "base-hub-5.4.6", "minimal-hub-5.4.6"):
        assert (tmp_path / "manifests" / f"{key}.md").is_file()
        assert (tmp_path / "manifests" / f"{key}.json").is_file()


def test_a_config_with_credentials_never_prints_the_password(tmp_path: Path) -> None:
    password = "hunter2-not-for-logs"
    login = Credentials("reg.example.com", "builder", Secret(password), "--password-stdin")
    config = Config(templates=tmp_path, catalogue=tmp_path, out=tmp_path, credentials=login)
    for shown in (repr(config), str(config), f"{config}", repr(login), str(login)):
        assert password not in shown
    assert "builder" in repr(config)
    assert login.auth_config()["password"] == password
