"""Rendering: every template renders for both environments, carries the attribution,
pins the hub, and keeps the build CA in builder stages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from validator.images.catalogue import load_catalogue
from validator.images.plan import EnvKind, Target, plan
from validator.images.render import RenderSettings, render_dockerfile, write_context

REPO = Path(__file__).resolve().parents[3]
TEMPLATES = REPO / "templates"
CATALOGUE = load_catalogue(REPO / "base-images", TEMPLATES)
ALL = [t for env in EnvKind for t in plan(CATALOGUE, [], env=env)]


def render(target: Target, **settings: object) -> str:
    return render_dockerfile(TEMPLATES, CATALOGUE, target, RenderSettings(**settings))  # type: ignore[arg-type]


def stages(dockerfile: str) -> list[tuple[str, str]]:
    """(stage name or '', text of the stage) for every FROM."""
    parts = re.split(r"^FROM ", dockerfile, flags=re.MULTILINE)[1:]
    found = []
    for part in parts:
        first = part.splitlines()[0]
        name = first.split(" AS ")[1].strip() if " AS " in first else ""
        found.append((name, part))
    return found


@pytest.mark.parametrize("target", ALL, ids=lambda t: t.key)
def test_renders_with_attribution_and_no_leftover_template_syntax(target: Target) -> None:
    text = render(target)
    assert "jupyter/docker-stacks" in text and "BSD-3-Clause" in text and "NOTICE.md" in text
    assert "{{" not in text and "{%" not in text


@pytest.mark.parametrize("target", ALL, ids=lambda t: t.key)
def test_build_inputs_stay_in_builder_stages(target: Target) -> None:
    found = stages(render(target))
    assert found[-1][0] != "builder", "the image is never the builder stage"
    for name, text in found:
        instructions = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
        if any("_build" in line for line in instructions):
            assert name == "builder", f"stage {name!r} sees _build/"


@pytest.mark.parametrize("env", list(EnvKind))
def test_base_pins_the_hub_and_has_the_jupyter_packages(env: EnvKind) -> None:
    target = plan(CATALOGUE, ["base"], hubs=["4.1.6"], env=env)[-1]
    text = render(target)
    hub = "jupyterhub-singleuser==4.1.6" if env is EnvKind.CONDA else "jupyterhub==4.1.6"
    assert hub in text
    for package in ("jupyterlab==", "notebook==", "ipykernel=="):
        assert package in text
    assert 'CMD ["start-notebook.py"]' in text
    assert "HEALTHCHECK" in text and "JUPYTER_PORT=8888" in text


def test_foundation_has_tini_as_pid_1_and_the_root_image_parameter() -> None:
    target = plan(CATALOGUE, ["foundation"])[0]
    assert "ARG ROOT_IMAGE=ubuntu:24.04" in render(target)
    text = render(target, root_image="debian:bookworm", nb_uid=1234)
    assert "ARG ROOT_IMAGE=debian:bookworm" in text and "ARG NB_UID=1234" in text
    assert 'ENTRYPOINT ["tini", "-g", "--", "start.sh"]' in text
    assert text.rstrip().endswith("WORKDIR ${HOME}")
    assert "USER ${NB_UID}" in text


def test_extra_packages_are_quoted_into_the_install(tmp_path: Path) -> None:
    target = plan(CATALOGUE, ["scientific"], hubs=["5.4.6"])[-1]
    text = render(target)
    for package in CATALOGUE["scientific"].packages.pip:
        assert f"        {package}" in text


def test_context_holds_scripts_notice_and_empty_build_inputs(tmp_path: Path) -> None:
    target = plan(CATALOGUE, ["base"], hubs=["5.4.6"])[-1]
    context = write_context(TEMPLATES, target, render(target), tmp_path)
    assert (context / "Dockerfile").is_file() and (context / "NOTICE.md").is_file()
    assert (context / "files" / "start-notebook.py").stat().st_mode & 0o111
    assert (context / "_build" / "env-install.sh").stat().st_mode & 0o111
    assert (context / "_build" / "ca.pem").read_bytes() == b""
    assert list((context / "_build" / "wheelhouse").iterdir()) == []
