"""``build-images``: render, lint and build the known-good images. Thin: parse, call
the pipeline, print a summary, exit.

Exit codes: 0 every image passed; 1 an image failed (lint, build, validation); 2
usage or tool error (bad catalogue, Docker unreachable, hadolint missing, push
refused); 130 interrupted.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from validator import __version__, exit_codes
from validator.choices import DEFAULT_PROFILE, DEFAULT_ROOT_IMAGE
from validator.cli import options as shared
from validator.cli.guard import exit_with
from validator.errors import CredentialsError
from validator.images.paths import default_dir

if TYPE_CHECKING:
    from validator.images.catalogue import Catalogue
    from validator.images.pipeline import TargetResult
    from validator.images.plan import EnvKind
    from validator.registry.credentials import Credentials

# The pipeline (docker, jinja2, pydantic, the validator's probes) is imported by the
# commands that run it: `build-images --help` and `list` stay quick.

PASSWORD_ENV = "BUILD_IMAGES_REGISTRY_PASSWORD"
F = TypeVar("F", bound=Callable[..., Any])
_ENVS = ("pip", "conda", "all")


def _say(message: str) -> None:
    click.echo(message, err=True)


def _dir_option(flag: str, name: str, help_text: str) -> Callable[[F], F]:
    """An existing-directory option defaulting to ``./name`` (or the packaged copy)."""
    return click.option(
        flag,
        type=click.Path(file_okay=False, exists=True, path_type=Path),
        default=lambda: default_dir(name),
        show_default=f"./{name}",
        help=help_text,
    )


def _data_options(fn: F) -> F:
    """Where the templates, the catalogue and the hadolint config are."""
    fn = _dir_option("--templates", "templates", "Directory of the Dockerfile templates.")(fn)
    fn = _dir_option("--catalogue", "base-images", "Directory of the image catalogue (*.yaml).")(fn)
    return fn


def _target_options(fn: F) -> F:
    """Which images, for which hubs, in which environment, on which root image."""
    fn = click.argument("images", nargs=-1, metavar="[IMAGE]...")(fn)
    fn = click.option(
        "--hub",
        "hubs",
        multiple=True,
        metavar="X.Y.Z",
        help="Build for this JupyterHub version only (repeatable; default: all listed).",
    )(fn)
    fn = click.option(
        "--root-image",
        default=DEFAULT_ROOT_IMAGE,
        show_default=True,
        envvar="BUILD_IMAGES_ROOT_IMAGE",
        help="Debian or Ubuntu image the foundation starts FROM.",
    )(fn)
    return fn


def _hadolint_config() -> Path | None:
    path = default_dir(".hadolint.yaml")
    return path if path.is_file() else None


def _load(templates: Path, catalogue: Path) -> Catalogue:
    from validator.images.catalogue import load_catalogue

    return load_catalogue(catalogue, templates)


def exit_code(results: list[TargetResult]) -> int:
    """0 all passed; 2 a tool error (validation, describing, a refused push) decided the
    run; 1 otherwise (a build failed or an image was found incompatible)."""
    from validator.images.pipeline import Outcome

    codes = {
        Outcome.PASSED: exit_codes.COMPATIBLE,
        Outcome.BUILD_FAILED: exit_codes.INCOMPATIBLE,
        Outcome.INVALID: exit_codes.INCOMPATIBLE,
        Outcome.ERROR: exit_codes.TOOL_ERROR,
        Outcome.SKIPPED: exit_codes.INCOMPATIBLE,
    }
    return exit_codes.worst(codes[r.outcome] for r in results)


@click.group(cls=shared.Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="build-images")
def main() -> None:
    """Build known-good JupyterHub images from templates/ and base-images/.

    \b
      build-images list                         the catalogue
      build-images render [IMAGE]... --out DIR  Dockerfiles and build contexts
      build-images lint   [IMAGE]...            hadolint on every rendered Dockerfile
      build-images build  [IMAGE]...            render, lint, build, validate,
                                                describe, tag (and --push)

    IMAGE names catalogue entries; their parents are included. No IMAGE: all.
    """
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    logging.getLogger("testcontainers").setLevel(logging.WARNING)


@main.command("list")
@_data_options
def list_cmd(templates: Path, catalogue: Path) -> None:
    """Show the catalogue: each image, its parent, template and hub versions."""

    def action() -> int:
        cat = _load(templates, catalogue)
        for name in cat.with_ancestors(cat.images):
            spec = cat[name]
            hubs = ", ".join(cat.hub_versions(spec.name)) or "-"
            click.echo(
                f"{spec.name:<12} parent {spec.parent or '(root image)':<14} "
                f"template {spec.template:<11} hubs {hubs}"
            )
            click.echo(f"{'':<12} {spec.description}")
        return 0

    exit_with("build-images", action)


@main.command()
@_data_options
@_target_options
@shared.env_choice(_ENVS, "pip", "Python environment: pip venv, micromamba/conda-forge, or both.")
@shared.out_dir(Path("build/images/contexts"), "Write one build context per image here.")
def render(
    templates: Path,
    catalogue: Path,
    images: tuple[str, ...],
    hubs: tuple[str, ...],
    root_image: str,
    envs: str,
    out: Path,
) -> None:
    """Render Dockerfiles and their build contexts to a directory.

    Each context builds with plain `docker build --build-arg ROOT_IMAGE=...` (the
    foundation) or `--build-arg BASE_IMAGE=<parent>` (the others); put a CA bundle in
    _build/ca.pem and wheels in _build/wheelhouse/ if the build needs them.
    """

    def action() -> int:
        from validator.images.plan import plan
        from validator.images.render import RenderSettings, render_all

        cat = _load(templates, catalogue)
        settings = RenderSettings(root_image=root_image)
        for env in _envs(envs):
            targets = plan(cat, images, hubs=hubs, env=env)
            for key, path in render_all(templates, cat, targets, settings, out).items():
                click.echo(f"{key:<28} {path / 'Dockerfile'}")
        return 0

    exit_with("build-images", action)


@main.command("lint")
@_data_options
@_target_options
@shared.env_choice(_ENVS, "all", "Environments to render and lint.")
def lint_cmd(
    templates: Path,
    catalogue: Path,
    images: tuple[str, ...],
    hubs: tuple[str, ...],
    root_image: str,
    envs: str,
) -> None:
    """Render every Dockerfile (to a temporary directory) and run hadolint on them."""

    def action() -> int:
        from validator.images.pipeline import Config, lint_targets
        from validator.images.plan import plan
        from validator.images.render import RenderSettings

        cat = _load(templates, catalogue)
        config_file = _hadolint_config()
        passed, count = True, 0
        with tempfile.TemporaryDirectory(prefix="build-images-lint-") as tmp:
            for env in _envs(envs):
                config = Config(
                    templates=templates,
                    catalogue=catalogue,
                    out=Path(tmp) / env.value,
                    settings=RenderSettings(root_image=root_image),
                    hadolint_config=config_file,
                )
                result = lint_targets(config, cat, plan(cat, images, hubs=hubs, env=env))
                count += len(result.files)
                passed = passed and result.passed
                for finding in result.findings:
                    shown = finding.one_line().replace(str(tmp) + "/", "")
                    click.echo(shown)
        click.echo(
            f"hadolint: {count} Dockerfile(s), {'passed' if passed else 'FAILED'} "
            f"(config {config_file or 'none'})",
            err=True,
        )
        return 0 if passed else 1

    exit_with("build-images", action)


@main.command()
@_data_options
@_target_options
@shared.env_choice(_ENVS[:2], "pip", "Python environment of the images.", dest="env")
@shared.ca_cert("CA bundle for pip/curl behind a TLS-intercepting proxy; builder stages only.")
@shared.wheelhouse()
@click.option(
    "--profile",
    default=DEFAULT_PROFILE,
    show_default=True,
    help="Validator profile; its hub version is replaced by each image's.",
)
@click.option(
    "--repository-prefix",
    default="jhiv",
    show_default=True,
    help="Images are named PREFIX/<image>; a registry host may lead (reg.example.com/team).",
)
@shared.out_dir(Path("build/images"), "Contexts, validation reports and manifests go here.")
@click.option("--no-cache", is_flag=True, help="Ignore the layer cache.")
@click.option("--push", is_flag=True, help="Push every tag of every image that passed.")
@shared.username("Registry user for --push (default: docker login's).")
@shared.password_stdin(f"Read the registry password from stdin (else ${PASSWORD_ENV}).")
@shared.refuse_password()
@click.option("-v", "--verbose", is_flag=True, help="Show the whole build output.")
def build(
    templates: Path,
    catalogue: Path,
    images: tuple[str, ...],
    hubs: tuple[str, ...],
    root_image: str,
    env: str,
    ca_cert: Path | None,
    wheelhouse: Path | None,
    profile: str,
    repository_prefix: str,
    out: Path,
    no_cache: bool,
    push: bool,
    username: str | None,
    password_stdin: bool,
    verbose: bool,
) -> None:
    """Render, lint, build, validate, describe and tag IMAGEs (and their parents).

    Every image with Jupyter is validated with validate-image's checks under
    --profile for its own hub version; an image that fails is not tagged and its
    children are not built. Manifests (Markdown and JSON) go to OUT/manifests/.
    """
    credentials = _credentials(username, password_stdin, push, repository_prefix)

    def action() -> int:
        from validator.image import docker_client
        from validator.images.engine import BuildInputs
        from validator.images.pipeline import Config, Pipeline
        from validator.images.plan import EnvKind
        from validator.images.render import RenderSettings

        config = Config(
            templates=templates,
            catalogue=catalogue,
            out=out,
            settings=RenderSettings(root_image=root_image),
            inputs=BuildInputs(ca_cert=ca_cert, wheelhouse=wheelhouse, no_cache=no_cache),
            hubs=hubs,
            env=EnvKind(env),
            profile=profile,
            repository_prefix=repository_prefix,
            hadolint_config=_hadolint_config(),
            push=push,
            credentials=credentials,
            verbose=verbose,
        )
        results = Pipeline(config, docker_client(), _say).run(list(images))
        _summary(results)
        return exit_code(results)

    exit_with("build-images", action)


def _envs(choice: str) -> list[EnvKind]:
    from validator.images.plan import EnvKind

    return list(EnvKind) if choice == "all" else [EnvKind(choice)]


def _credentials(
    username: str | None, password_stdin: bool, push: bool, repository_prefix: str
) -> Credentials | None:
    if not username:
        if password_stdin:
            raise click.UsageError("--password-stdin needs --username")
        return None
    if not push:
        raise click.UsageError("--username is for --push")
    from validator.reference import DOCKER_HUB, split_registry
    from validator.registry.access import read_stdin_password
    from validator.registry.credentials import Credentials, read_password

    # The login is for the registry the images are pushed to: the prefix's host, else Hub.
    registry = split_registry(repository_prefix)[0] or DOCKER_HUB
    env_password = os.environ.get(PASSWORD_ENV)
    if not password_stdin and not env_password:
        raise click.UsageError(f"--username needs a password: --password-stdin or ${PASSWORD_ENV}")
    try:
        if password_stdin:
            secret = read_stdin_password(registry, username)
            source = "--password-stdin"
        else:
            secret = read_password(env_password or "", source=PASSWORD_ENV)
            source = PASSWORD_ENV
    except CredentialsError as exc:
        raise click.UsageError(exc.one_line()) from None
    return Credentials(registry, username, secret, source)


def _summary(results: list[TargetResult]) -> None:
    """One line per image on stdout: the part of the output meant to be kept."""
    from validator.images.pipeline import Outcome

    for r in results:
        size = f"{r.size_bytes / 1e6:.0f} MB" if r.size_bytes else "-"
        names = r.references[0] if r.references else "-"
        click.echo(
            f"{r.target.key:<24} {r.outcome.value:<12} {size:>7}  build {r.build_seconds:6.1f} s"
            f"  validate {r.validate_seconds:5.1f} s  {names}"
        )
        if r.manifest is not None:
            click.echo(f"{'':<24} manifest {r.manifest}")
        if r.message and r.outcome is not Outcome.PASSED:
            click.echo(f"{'':<24} {r.message.splitlines()[0]}")


if __name__ == "__main__":  # pragma: no cover
    main()
