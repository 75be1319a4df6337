"""``make-compatible``: the command line. Thin: parse, call make(), print, exit.

Exit codes: 0 the made image passes (or the image already did, or --dockerfile-only
wrote the context), 1 it cannot be made to pass (the reason is printed), 2 usage or
tool error, 130 interrupted.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from validator import __version__
from validator.choices import DEFAULT_PROFILE
from validator.cli import options as shared
from validator.cli.guard import exit_with
from validator.errors import ValidatorError

if TYPE_CHECKING:
    from validator.options import PullPolicy

log = logging.getLogger("validator")


@click.command(cls=shared.Command, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("image")
@click.option(
    "--profile",
    "profile_name",
    default=DEFAULT_PROFILE,
    show_default=True,
    help="Target hub: a built-in profile name or a YAML file (as validate-image).",
)
@click.option("--hub-version", help="Override the profile's JupyterHub version (X.Y.Z).")
@click.option("--tag", help="Tag of the made image (default: IMAGE's name, tag + -jupyterhub).")
@shared.ca_cert("CA bundle for pip behind a TLS-intercepting proxy; builder stage only.")
@shared.wheelhouse()
@click.option(
    "--dockerfile-only",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Write the build context (Dockerfile, _build/) to DIR; do not build.",
)
@click.option(
    "--templates",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="Directory of the Dockerfile templates (default: the package's).",
)
@shared.output_file("--json", "Also write the outcome (with the remedies) as JSON.", "json_file")
@shared.pull_and_login()
@shared.insecure_registry()
@click.option("--allow-egress", is_flag=True, help="Let the candidate reach the internet.")
@click.option("-v", "--verbose", count=True, help="Show the build output (-vv: debug logs).")
@click.option("--debug", is_flag=True, help="Show tracebacks for internal errors.")
@click.version_option(__version__, prog_name="make-compatible")
def main(
    image: str,
    profile_name: str,
    hub_version: str | None,
    tag: str | None,
    ca_cert: Path | None,
    wheelhouse: Path | None,
    dockerfile_only: Path | None,
    templates: Path | None,
    json_file: Path | None,
    pull: PullPolicy,
    registry_url: str | None,
    username: str | None,
    password_stdin: bool,
    insecure_registries: tuple[str, ...],
    allow_egress: bool,
    verbose: int,
    debug: bool,
) -> None:
    """Layer what a JupyterHub needs onto IMAGE, build it, and validate it again.

    Validates IMAGE with the profile; if it fails, inspects it, picks the remedies its
    failures call for, builds the new image and validates that with the same profile.
    """
    level = logging.DEBUG if verbose > 1 else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(message)s", stream=sys.stderr)
    logging.getLogger("testcontainers").setLevel(max(level, logging.WARNING))

    def run() -> int:
        # Imported here so that --help and usage errors do not pay for docker, the
        # pipeline and the probes (issue #13's start-up budget).
        from validator.compat.make import Request, make
        from validator.compat.output import render_json, render_text
        from validator.image import docker_client
        from validator.images import engine
        from validator.images.engine import BuildInputs
        from validator.images.paths import default_dir
        from validator.options import Options
        from validator.profiles import load_profile
        from validator.reference import parse_reference
        from validator.registry.access import registry_access
        from validator.registry.credentials import redact_logs
        from validator.runtime.sandbox import sweep

        ref = parse_reference(image)  # bad input fails before any work
        if tag is not None:
            parse_reference(tag)
        access = registry_access(
            (image,),
            [ref],
            registry_url=registry_url,
            username=username,
            password_stdin=password_stdin,
            ca_cert=None,
            insecure=insecure_registries,
        )
        redact_logs(access.secrets())
        profile = load_profile(profile_name).with_overrides(hub_version=hub_version)
        options = Options(pull=pull, registry=access, allow_egress=allow_egress, progress="lines")
        template_dir = templates or default_dir("templates")
        if not (template_dir / "make-compatible").is_dir():
            raise ValidatorError(
                f"no make-compatible templates in {str(template_dir)!r}",
                hint="pass --templates DIR (the repository's templates/)",
            )
        client = docker_client()
        sweep(client)
        request = Request(
            image=image,
            profile=profile,
            options=options,
            templates=template_dir,
            tag=tag,
            inputs=BuildInputs(ca_cert=ca_cert, wheelhouse=wheelhouse),
            dockerfile_only=dockerfile_only,
        )

        def on_line(line: str) -> None:
            if verbose or engine.is_step_line(line):
                click.echo(f"  {line}", err=True)

        outcome = make(
            request,
            client,
            on_line=on_line,
            on_step=lambda text: click.echo(f"make-compatible: {text}", err=True),
        )
        click.echo(render_text(outcome), nl=False)
        if json_file is not None:
            try:
                json_file.parent.mkdir(parents=True, exist_ok=True)
                json_file.write_text(render_json(outcome), encoding="utf-8")
            except OSError as exc:
                raise ValidatorError(f"cannot write {str(json_file)!r}: {exc.strerror}") from None
        return outcome.exit_code

    exit_with("make-compatible", run, debug=debug, prompt=True)


if __name__ == "__main__":
    main()
