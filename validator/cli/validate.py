"""``validate-image``: the command line. Thin: parse, call validate(), render, exit.

Exit codes: 0 compatible, 1 incompatible (or, with --fail-on warning, a check warned), 2
usage or tool error, 130 interrupted.
"""

from __future__ import annotations

import logging
import os
import secrets
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from validator import __version__, exit_codes
from validator.choices import DEFAULT_PROFILE, STDOUT_FORMATS
from validator.cli import options as shared
from validator.cli.args import FAIL_ON, CliArgs, Login, Outputs, ProfileOverrides
from validator.cli.guard import exit_with
from validator.errors import ValidatorError
from validator.findings import Report, Status, Verdict
from validator.options import Options, ProgressMode, PullPolicy

# Only what parsing needs is imported above: docker, requests, pydantic and the renderers
# load inside the functions that use them, so --help, --version and usage errors answer
# without them (issue #13).

log = logging.getLogger("validator")


def _print_profiles() -> None:
    from validator.profiles import list_profiles

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


def _error_report(reference: str, profile_name: str, hub: str, error: ValidatorError) -> Report:
    return Report(
        reference=reference,
        profile=profile_name,
        hub_version=hub,
        validator_version=__version__,
        error=error.one_line(),
    )


@click.command(cls=shared.Command, context_settings={"help_option_names": ["-h", "--help"]})
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
# Bounds the engine and the hub accept: a uid fits 32 bits less the kernel's "no uid",
# a port is 1-65535, and a day is longer than any spawn a hub allows.
@click.option(
    "--uid", type=click.IntRange(0, 2**32 - 2), help="Run as this uid instead of the profile's."
)
@click.option(
    "--port", type=click.IntRange(1, 65535), help="Port the hub puts in JUPYTERHUB_SERVICE_URL."
)
@click.option(
    "--timeout",
    type=click.IntRange(1, 86400),
    help="Seconds the server may take to answer (http_timeout).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(STDOUT_FORMATS),
    default="text",
    show_default=True,
    help="Report format on stdout (or in --output). github: the text report, then "
    "GitHub Actions annotations for the top findings. sarif: SARIF 2.1.0 for code scanning.",
)
@shared.output_file("--output", "Write the report to this file instead of stdout.")
@shared.output_file("--junit", "Also write a JUnit XML report to this file.")
@shared.output_file("--json", "Also write a JSON report to this file.", dest="json_file")
@shared.output_file("--sarif", "Also write a SARIF 2.1.0 report to this file.", dest="sarif_file")
@shared.output_file(
    "--github-summary",
    "Append a Markdown job summary to this file "
    "(with --format github the default is $GITHUB_STEP_SUMMARY).",
)
@shared.output_file(
    "--github-output",
    "Append the step outputs (verdict, compatible, digest, report-json) to this file, "
    "in GitHub's name=value format (e.g. $GITHUB_OUTPUT).",
)
@click.option(
    "--fail-on",
    type=click.Choice(FAIL_ON),
    default="error",
    show_default=True,
    help="error: exit 1 when an image is incompatible. warning: also when a check warns.",
)
@shared.pull_and_login()
@shared.ca_cert()
@shared.insecure_registry()
@click.option(
    "--no-cache", is_flag=True, help="Validate again even if a result for the digest is cached."
)
@click.option("--static-only", is_flag=True, help="Skip the runtime probes (no server start).")
@click.option(
    "--stable-window",
    type=shared.Seconds(0, 600),
    default=Options.stable_window,
    show_default=True,
    help="Seconds after its first answer the server must keep running (the probes run inside).",
)
@click.option(
    "--max-wait",
    type=shared.Seconds(1, 86_400),
    default=Options.max_wait,
    show_default=True,
    help="The longest to wait for one step (the version command, the first answer, a "
    "kernel), whatever the profile's http_timeout allows.",
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
def main(
    images: tuple[str, ...],
    profile_name: str,
    list_profiles: bool,
    hub_version: str | None,
    mount_path: str | None,
    uid: int | None,
    port: int | None,
    timeout: int | None,
    fmt: str,
    output: Path | None,
    junit: Path | None,
    json_file: Path | None,
    sarif_file: Path | None,
    github_summary: Path | None,
    github_output: Path | None,
    fail_on: str,
    pull: PullPolicy,
    registry_url: str | None,
    username: str | None,
    password_stdin: bool,
    ca_cert: Path | None,
    insecure_registries: tuple[str, ...],
    no_cache: bool,
    static_only: bool,
    stable_window: float,
    max_wait: float,
    allow_egress: bool,
    parallel: int,
    keep: bool,
    color: bool | None,
    verbose: int,
    debug: bool,
) -> None:
    """Tell whether a JupyterHub can spawn IMAGE, and if not, why and how to fix it.

    IMAGE is a Docker Hub name (jupyter/base-notebook), a full reference
    (registry.example.com/team/img:tag) or a URL (https://registry.example.com/img:tag).
    """
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(message)s", stream=sys.stderr)
    # testcontainers says "Pulling image" for every start; our own lines say what matters.
    logging.getLogger("testcontainers").setLevel(max(level, logging.WARNING))
    if list_profiles:
        _print_profiles()
        return
    if not images:
        raise click.UsageError("give at least one IMAGE (or --list-profiles)")
    args = CliArgs(
        images=images,
        profile_name=profile_name,
        overrides=ProfileOverrides(hub_version, mount_path, uid, port, timeout),
        outputs=Outputs(
            fmt=fmt,
            output=output,
            junit=junit,
            json_file=json_file,
            sarif_file=sarif_file,
            github_summary=github_summary,
            github_output=github_output,
            color=color,
        ),
        login=Login(registry_url, username, password_stdin, ca_cert, insecure_registries),
        pull=pull,
        no_cache=no_cache,
        static_only=static_only,
        stable_window=stable_window,
        max_wait=max_wait,
        allow_egress=allow_egress,
        parallel=parallel,
        keep=keep,
        warnings_fail=fail_on == "warning",
    )
    exit_with("validate-image", lambda: _run_guarded(args), debug=debug, prompt=True)


def _run_guarded(args: CliArgs) -> int:
    try:
        return _run(args)
    except ValidatorError as exc:
        # The step outputs still say the image could not be checked.
        if args.outputs.github_output is not None:
            _write_github_output(args.outputs.github_output, _error_outputs())
        _github_stopped(args.images, f"validate-image: error: {exc.one_line()}", args.outputs)
        raise


def _github_stopped(images: Sequence[str], reason: str, outputs: Outputs) -> None:
    """No report to render: the annotation and the job summary still say why."""
    from validator.report.github.annotations import workflow_command

    if outputs.fmt == "github":
        title = "validate-image could not check the image"
        click.echo(workflow_command("error", reason, title=title))
    summary = _summary_file(outputs)
    if summary is not None:
        names = ", ".join(f"`{image.replace('`', '')}`" for image in images)
        summary.parent.mkdir(parents=True, exist_ok=True)
        with summary.open("a", encoding="utf-8") as out:
            out.write(f"### ❗ {names} could not be validated\n\n    {reason}\n")


def _summary_file(outputs: Outputs) -> Path | None:
    if outputs.github_summary is not None:
        return outputs.github_summary
    if outputs.fmt == "github" and os.environ.get("GITHUB_STEP_SUMMARY"):
        return Path(os.environ["GITHUB_STEP_SUMMARY"])
    return None


def _run(args: CliArgs) -> int:
    from concurrent.futures import ThreadPoolExecutor

    from validator.cache import ResultCache
    from validator.image import docker_client
    from validator.profiles import load_profile
    from validator.reference import parse_reference
    from validator.registry.access import registry_access
    from validator.registry.credentials import redact_logs
    from validator.report.github.annotations import workflow_command
    from validator.runtime.sandbox import sweep
    from validator.validate import validate

    refs = [parse_reference(image) for image in args.images]  # bad input fails before any work
    login = args.login
    access = registry_access(
        args.images,
        refs,
        registry_url=login.registry_url,
        username=login.username,
        password_stdin=login.password_stdin,
        ca_cert=login.ca_cert,
        insecure=login.insecure_registries,
    )
    redact_logs(access.secrets())
    o = args.overrides
    profile = load_profile(args.profile_name).with_overrides(
        hub_version=o.hub_version,
        mount_path=o.mount_path,
        uid=o.uid,
        port=o.port,
        http_timeout=o.timeout,
    )
    options = Options(
        pull=args.pull,
        keep=args.keep,
        static_only=args.static_only,
        allow_egress=args.allow_egress,
        stable_window=args.stable_window,
        max_wait=args.max_wait,
        registry=access,
        no_cache=args.no_cache,
        progress=_progress_mode(len(refs), args.parallel),
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

    if args.parallel > 1 and len(refs) > 1:
        pool = ThreadPoolExecutor(max_workers=args.parallel)
        try:
            reports = list(pool.map(one, range(len(refs))))
        finally:
            # On Ctrl-C the images still running are abandoned, not awaited: the guard
            # removes their sandboxes.
            pool.shutdown(wait=False, cancel_futures=True)
    else:
        reports = [one(i) for i in range(len(refs))]
    for report in reports:
        if report.cached:
            click.echo(_cached_note(report), err=True)
    code = exit_code(reports, warnings_fail=args.warnings_fail)
    _emit(reports, args.outputs)
    warned = sum(len(r.by_status(Status.WARN)) for r in reports)
    if code != exit_code(reports) and args.outputs.fmt == "github":
        # Only the warnings fail this run; the annotations alone would not say so.
        reason = f"fail-on is 'warning' and {warned} check(s) warned"
        click.echo(workflow_command("error", reason, title="validate-image"))
    return code


def exit_code(reports: Sequence[Report], *, warnings_fail: bool = False) -> int:
    """Several images: a tool error outranks an incompatible image, which outranks success.

    With ``warnings_fail`` (``--fail-on warning``) a warned check fails a compatible image.
    """
    codes = [r.exit_code for r in reports]
    if warnings_fail and any(r.by_status(Status.WARN) for r in reports):
        codes.append(exit_codes.INCOMPATIBLE)
    return exit_codes.worst(codes)


def _progress_mode(images: int, parallel: int) -> ProgressMode:
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


def _emit(reports: list[Report], outputs: Outputs) -> None:
    from validator.report import FORMATS, RenderOptions

    color = outputs.color
    if color is None:
        color = outputs.output is None and sys.stdout.isatty() and "NO_COLOR" not in os.environ
    rendering = RenderOptions(color=color)
    # One document for all images: GitHub limits annotations per step, not per image.
    text = FORMATS[outputs.fmt](reports, rendering) + "\n"
    if outputs.output is not None:
        _write(outputs.output, text)
    else:
        click.echo(text, nl=not text.endswith("\n"))
    plain = RenderOptions()
    for fmt, path in (
        ("junit", outputs.junit),
        ("json", outputs.json_file),
        ("sarif", outputs.sarif_file),
    ):
        if path is not None:
            _write(path, FORMATS[fmt](reports, plain) + "\n")
    summary = _summary_file(outputs)
    if summary is not None:
        summary.parent.mkdir(parents=True, exist_ok=True)
        # Appended: the step may already have written to its summary file.
        with summary.open("a", encoding="utf-8") as out:
            out.write(FORMATS["summary"](reports, plain))
    if outputs.github_output is not None:
        values = _step_outputs(reports, outputs.json_file)
        if outputs.sarif_file is not None:
            values["report-sarif"] = str(outputs.sarif_file.resolve())
        _write_github_output(outputs.github_output, values)


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ValidatorError(
            f"cannot write {str(path)!r}: {exc.strerror or exc}",
            hint="the report is lost for this file; the verdict is in the exit code",
        ) from None


def _step_outputs(reports: Sequence[Report], json_file: Path | None) -> dict[str, str]:
    """The Action's outputs: the worst verdict; the digest only when there is one image."""
    # A verdict and its exit code go one to one, so the worst code names the worst verdict.
    by_code = {r.exit_code: r.verdict for r in reports}
    verdict = by_code[exit_codes.worst(by_code)]
    return {
        "verdict": verdict.value,
        "compatible": "true" if verdict is Verdict.COMPATIBLE else "false",
        "digest": (reports[0].digest or "") if len(reports) == 1 else "",
        "report-json": str(json_file.resolve()) if json_file is not None else "",
    }


def _error_outputs() -> dict[str, str]:
    return {"verdict": "error", "compatible": "false", "digest": "", "report-json": ""}


def _write_github_output(path: Path, values: dict[str, str]) -> None:
    """Append ``name=value`` lines; a value with a line break gets a heredoc block."""
    lines = []
    for name, value in values.items():
        if "\n" in value or "\r" in value:
            delimiter = f"ghadelimiter_{secrets.token_hex(8)}"
            lines += [f"{name}<<{delimiter}", value, delimiter]
        else:
            lines.append(f"{name}={value}")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")
