"""Templates -> build contexts: a Dockerfile plus the files it copies.

Rendering is pure (template text and catalogue in, Dockerfile text out); writing a
context directory is the one side effect. A context holds:

    Dockerfile     the rendered template
    NOTICE.md      origin and licence of the design (copied into the foundation image)
    files/         the template's scripts, modes kept
    _build/        env-install.sh, ca.pem (empty here), wheelhouse/ (empty here);
                   the build fills the last two for the builder stages only
"""

from __future__ import annotations

import shlex
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import jinja2

from validator.choices import DEFAULT_ROOT_IMAGE
from validator.images.catalogue import Catalogue
from validator.images.plan import EnvKind, Target

BUILD_DIR = "_build"
CA_FILE = f"{BUILD_DIR}/ca.pem"
WHEELHOUSE_DIR = f"{BUILD_DIR}/wheelhouse"


@dataclass(frozen=True)
class RenderSettings:
    """What a user may vary at render time; everything else is in the catalogue."""

    root_image: str = DEFAULT_ROOT_IMAGE
    nb_user: str = "jovyan"
    nb_uid: int = 1000
    nb_gid: int = 100


def _environment(templates: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates)),
        undefined=jinja2.StrictUndefined,  # a typo in a template fails the render
        keep_trailing_newline=True,
        autoescape=False,  # Dockerfiles, not HTML
    )
    env.filters["shell_quote"] = shlex.quote
    return env


def spec_maker(catalogue: Catalogue, target: Target) -> Callable[..., list[str]]:
    """``specs(names, exact={})`` for templates: the template's own packages with the
    catalogue's pins (``exact`` wins), then the image's extra packages for this env."""
    pins = catalogue.pins(target.image.name)
    extras = target.image.packages.pip if target.env is EnvKind.PIP else target.image.packages.conda

    def specs(names: Iterable[str], exact: dict[str, str] | None = None) -> list[str]:
        versions = {**pins, **(exact or {})}
        own = [f"{n}=={versions[n]}" if n in versions else n for n in names]
        return [*own, *extras]

    return specs


def render_dockerfile(
    templates: Path, catalogue: Catalogue, target: Target, settings: RenderSettings
) -> str:
    template = _environment(templates).get_template(f"{target.image.template}/Dockerfile.j2")
    text = template.render(
        image=target.image,
        env=target.env.value,
        env_dir=target.env.env_dir,
        hub_version=target.hub_version,
        python=catalogue.python(target.image.name),
        root_image=settings.root_image,
        nb_user=settings.nb_user,
        nb_uid=settings.nb_uid,
        nb_gid=settings.nb_gid,
        specs=spec_maker(catalogue, target),
    )
    return text.rstrip("\n") + "\n"


def write_context(templates: Path, target: Target, dockerfile: str, out: Path) -> Path:
    """Write the build context of ``target`` to ``out/<target.key>/``; return its path."""
    context = out / target.key
    if context.exists():
        shutil.rmtree(context)
    context.mkdir(parents=True)
    (context / "Dockerfile").write_text(dockerfile, encoding="utf-8")
    shutil.copy2(templates / "NOTICE.md", context / "NOTICE.md")
    files = templates / target.image.template / "files"
    if files.is_dir():
        shutil.copytree(files, context / "files")
    build = context / BUILD_DIR
    shutil.copytree(templates / BUILD_DIR, build)
    (context / CA_FILE).write_bytes(b"")
    (context / WHEELHOUSE_DIR).mkdir()
    return context


def render_all(
    templates: Path,
    catalogue: Catalogue,
    targets: Iterable[Target],
    settings: RenderSettings,
    out: Path,
) -> dict[str, Path]:
    """Render and write every target's context; ``{target.key: context dir}``."""
    return {
        t.key: write_context(
            templates, t, render_dockerfile(templates, catalogue, t, settings), out
        )
        for t in targets
    }
