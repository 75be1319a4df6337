"""``validate-image``: the command line. Thin: parse, call validate(), render, exit.

Exit codes: 0 compatible, 1 incompatible, 2 usage or tool error, 130 interrupted.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import click

from validator import __version__
from validator.cache import ResultCache
from validator.cli.guard import exit_with
from validator.errors import USAGE_OR_TOOL_ERROR, ValidatorError
from validator.findings import Report
from validator.image import docker_client
from validator.options import Options
from validator.profiles import DEFAULT_PROFILE, list_profiles, load_profile
from validator.reference import parse_reference
from validator.registry.access import registry_access
from validator.registry.credentials import (
    PASSWORD_ENV,
    PLAIN_PASSWORD_HINT,
    PLAIN_PASSWORD_REFUSED,
    redact_logs,
)
from validator.report import render, render_github_many, render_summary_many
from validator.report.json import render_json, report_to_dict
from validator.report.junit import render_junit_many
from validator.runtime.sandbox import sweep
from validator.validate import validate

log = logging.getLogger("validator")


def _print_profiles() -> None:
    for profile in list_profiles():
        marker = " (default)" if profile.name == DEFAULT_PROFILE else ""
        click.echo(f"{profile.name}{marker}: {profile.description}")
        modes = ", ".join(m.value for m in profile.command_modes)
        click.echo(
            f"    hub {profile.hub_version}, {profile.spawner}, command: {modes}, "
            f"port {profile.port}, prefix {profile.service_prefix}, "
            f"uid {profile.uid if profile.uid is not None else 'image USER'}"
            + (f", home volume {profile.home_volume}" if profile.home_volume else "")
        )


def _refuse_password(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:
        raise click.UsageError(f"{PLAIN_PASSWORD_REFUSED} (hint: {PLAIN_PASSWORD_HINT})", ctx)


def _worst(codes: list[int]) -> int:
    """Several images: a tool error outranks an incompatible image, which outranks success."""
    if USAGE_OR_TOOL_ERROR in codes:
        return USAGE_OR_TOOL_ERROR
    return max(codes, default=0)


def _error_report(reference: str, profile_name: str, hub: str, error: ValidatorError) -> Report:
    return Report(
        reference=reference,
        profile=profile_name,
        hub_version=hub,
        validator_version=__version__,
        error=error.one_line(),
    )


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("images", nargs=-1, metavar="IMAGE...")
@click.option(
    "--profile",
    "profile_name",
    default=DEFAULT_PROFILE,
    show_default=True,
    help="Target hub: a built-in profile name or a YAML file.",
)
@click.option("--list-profiles", is_flag=True, help="List the built-in profiles and exit.")
@click.option("--hub-version", help="Override the profile's JupyterHub version (X.Y.Z).")
@click.option("--mount-path", help="Mount an empty user-data volume here, as the hub would.")
@click.option("--uid", type=int, help="Run as this uid instead of the profile's.")
@click.option("--port", type=int, help="Port the hub puts in JUPYTERHUB_SERVICE_URL.")
@click.option("--timeout", type=int, help="Seconds the server may take to answer (http_timeout).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "github"]),
    default="text",
    show_default=True,
    help="Report format on stdout (or in --output). github: the text report, then "
    "GitHub Actions annotations for the top findings.",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the report to this file instead of stdout.",
)
@click.option(
    "--junit",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write a JUnit XML report to this file.",
)
@click.option(
    "--json",
    "json_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write a JSON report to this file.",
)
@click.option(
    "--github-summary",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Append a Markdown job summary to this file "
    "(with --format github the default is $GITHUB_STEP_SUMMARY).",
)
@click.option(
    "--pull",
    type=click.Choice(["always", "missing", "never"]),
    default="missing",
    show_default=True,
    help="When to pull the image.",
)
@click.option(
    "--registry",
    "registry_url",
    metavar="URL",
    help="Private registry the login is for (https://host[:port]); the IMAGE must name it too.",
)
@click.option("--username", help="User (or token name) at the registry.")
@click.option(
    "--password-stdin",
    is_flag=True,
    help=f"Read the password or access token from standard input (else ${PASSWORD_ENV}, "
    "else Docker's stored login).",
)
@click.option(
    "--password",
    hidden=True,
    expose_value=False,
    is_eager=True,
    callback=_refuse_password,
    help="Refused: use --password-stdin.",
)
@click.option(
    "--ca-cert",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Trust this CA certificate (PEM) for the registry's TLS.",
)
@click.option(
    "--insecure-registry",
    "insecure_registries",
    multiple=True,
    metavar="HOST",
    help="Allow plain HTTP and unverified TLS for HOST[:PORT] (repeatable).",
)
@click.option(
    "--no-cache", is_flag=True, help="Validate again even if a result for the digest is cached."
)
@click.option("--static-only", is_flag=True, help="Skip the runtime probes (no server start).")
@click.option(
    "--stable-window",
    type=float,
    default=3.0,
    show_default=True,
    help="Seconds the server must stay up after the probes.",
)
@click.option("--allow-egress", is_flag=True, help="Let the candidate reach the internet.")
@click.option(
    "--parallel",
    type=click.IntRange(1, 16),
    default=1,
    show_default=True,
    help="Validate this many images at once.",
)
@click.option("--keep", is_flag=True, help="Keep containers and networks for debugging.")
@click.option(
    "--color/--no-color", default=None, help="Colour the text report (default: on a TTY)."
)
@click.option("-v", "--verbose", count=True, help="Log progress to stderr (-vv: debug).")
@click.option("--debug", is_flag=True, help="Show tracebacks for internal errors.")
@click.version_option(__version__, prog_name="validate-image")
def main(images: tuple[str, ...], profile_name: str, list_profiles: bool, **opts: Any) -> None:
    """Tell whether a JupyterHub can spawn IMAGE, and if not, why and how to fix it.

    IMAGE is a Docker Hub name (jupyter/base-notebook), a full reference
    (registry.example.com/team/img:tag) or a URL (https://registry.example.com/img:tag).
    """
    level = {0: logging.WARNING, 1: logging.INFO}.get(opts["verbose"], logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(message)s", stream=sys.stderr)
    # testcontainers says "Pulling image" for every start; our own lines say what matters.
    logging.getLogger("testcontainers").setLevel(max(level, logging.WARNING))
    if list_profiles:
        _print_profiles()
        return
    if not images:
        raise click.UsageError("give at least one IMAGE (or --list-profiles)")
    exit_with("validate-image", lambda: _run(images, profile_name, opts), debug=opts["debug"])


def _run(images: tuple[str, ...], profile_name: str, opts: dict[str, Any]) -> int:
    refs = [parse_reference(image) for image in images]  # bad input fails before any work
    access = registry_access(
        images,
        refs,
        registry_url=opts["registry_url"],
        username=opts["username"],
        password_stdin=opts["password_stdin"],
        ca_cert=opts["ca_cert"],
        insecure=opts["insecure_registries"],
    )
    redact_logs(access.secrets())
    profile = load_profile(profile_name).with_overrides(
        hub_version=opts["hub_version"],
        mount_path=opts["mount_path"],
        uid=opts["uid"],
        port=opts["port"],
        http_timeout=opts["timeout"],
    )
    options = Options(
        pull=opts["pull"],
        keep=opts["keep"],
        static_only=opts["static_only"],
        allow_egress=opts["allow_egress"],
        stable_window=opts["stable_window"],
        registry=access,
        no_cache=opts["no_cache"],
        progress=_progress_mode(len(refs), opts["parallel"]),
    )
    client = docker_client()
    cache = ResultCache()
    removed = sweep(client)
    if removed:
        log.info("Removed %d objects left by earlier runs", removed)

    def one(index: int) -> Report:
        try:
            return validate(refs[index], profile, options, client=client, cache=cache)
        except ValidatorError as exc:
            if len(refs) == 1:
                raise
            return _error_report(refs[index].canonical, profile.name, profile.hub_version, exc)

    if opts["parallel"] > 1 and len(refs) > 1:
        with ThreadPoolExecutor(max_workers=opts["parallel"]) as pool:
            reports = list(pool.map(one, range(len(refs))))
    else:
        reports = [one(i) for i in range(len(refs))]
    for report in reports:
        if report.cached:
            click.echo(_cached_note(report), err=True)
    _emit(reports, opts)
    return _worst([r.exit_code for r in reports])


def _progress_mode(images: int, parallel: int) -> str:
    # One bar redrawn in place on a terminal; several pulls at once would overwrite it.
    if sys.stderr.isatty() and (images == 1 or parallel == 1):
        return "bar"
    return "lines"


def _cached_note(report: Report) -> str:
    return (
        f"validate-image: note: cached result for {report.reference} ({report.digest}), "
        f"validated at {report.started_at or 'an earlier run'} for profile {report.profile}; "
        "--no-cache validates again"
    )


def _emit(reports: list[Report], opts: dict[str, Any]) -> None:
    output: Path | None = opts["output"]
    color = opts["color"]
    if color is None:
        color = output is None and sys.stdout.isatty() and "NO_COLOR" not in os.environ
    fmt = opts["fmt"]
    if fmt == "json":
        text = _json_document(reports) + "\n"
    elif fmt == "github":  # one document: GitHub limits annotations per step, not per image
        text = render_github_many(reports, color) + "\n"
    else:
        text = "\n".join(render(r, fmt, color=color) for r in reports) + "\n"
    if output is not None:
        _write(output, text)
    else:
        click.echo(text, nl=not text.endswith("\n"))
    junit: Path | None = opts["junit"]
    if junit is not None:
        _write(junit, render_junit_many(reports) + "\n")
    _emit_ci_files(reports, opts)


def _json_document(reports: list[Report]) -> str:
    """One report as an object, several as an array (the documented JSON shapes)."""
    if len(reports) == 1:
        return render_json(reports[0])
    return json.dumps([report_to_dict(r) for r in reports], indent=2)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _emit_ci_files(reports: list[Report], opts: dict[str, Any]) -> None:
    """--json and the GitHub job summary: files a CI job keeps beside the stdout report."""
    json_file: Path | None = opts["json_file"]
    if json_file is not None:
        _write(json_file, _json_document(reports) + "\n")
    summary: Path | None = opts["github_summary"]
    if summary is None and opts["fmt"] == "github" and os.environ.get("GITHUB_STEP_SUMMARY"):
        summary = Path(os.environ["GITHUB_STEP_SUMMARY"])
    if summary is not None:
        summary.parent.mkdir(parents=True, exist_ok=True)
        # Appended: the step may already have written to its summary file.
        with summary.open("a", encoding="utf-8") as out:
            out.write(render_summary_many(reports))
