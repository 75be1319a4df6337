"""``validate-image`` argument handling, without Docker: every mistake is one line on
stderr and exit 2, and no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from validator import __version__
from validator.choices import DEFAULT_PROFILE
from validator.cli.validate import _write_github_output, exit_code, main
from validator.findings import Finding, Report, Status
from validator.options import describe
from validator.profiles import list_profiles
from validator.report import STDOUT_FORMATS


def _run(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=stdin)


def _one_line_usage_error(result: Result, *, contains: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert contains in result.stderr
    assert result.stdout == ""


def test_version() -> None:
    result = _run("--version")
    assert result.exit_code == 0
    assert result.stdout == f"validate-image, version {__version__}\n"


def test_list_profiles_names_every_profile_and_the_default() -> None:
    result = _run("--list-profiles")
    assert result.exit_code == 0
    for profile in list_profiles():
        assert f"{profile.name}" in result.stdout
    assert f"{DEFAULT_PROFILE} (default):" in result.stdout


def test_no_image_is_a_usage_error() -> None:
    _one_line_usage_error(_run(), contains="give at least one IMAGE (or --list-profiles)")


def test_password_is_refused_with_a_hint() -> None:
    result = _run("--password", "hunter2", "jupyter/base-notebook")
    _one_line_usage_error(result, contains="--password-stdin")
    assert "hunter2" not in result.output


def test_an_unknown_format_is_refused_with_the_choices() -> None:
    result = _run("--format", "xml", "jupyter/base-notebook")
    _one_line_usage_error(result, contains="Invalid value for '--format'")
    for fmt in STDOUT_FORMATS:
        assert fmt in result.stderr


def test_the_format_choices_include_sarif() -> None:
    assert STDOUT_FORMATS == ("text", "json", "github", "sarif")


@pytest.mark.parametrize(
    ("args", "contains"),
    [
        (("--pull", "sometimes"), "Invalid value for '--pull'"),
        (("--fail-on", "notice"), "Invalid value for '--fail-on'"),
        (("--parallel", "0"), "Invalid value for '--parallel'"),
        (("--uid", "root"), "Invalid value for '--uid'"),
        (("--ca-cert", "/nonexistent/ca.pem"), "Invalid value for '--ca-cert'"),
    ],
)
def test_bad_option_values_are_usage_errors(args: tuple[str, ...], contains: str) -> None:
    _one_line_usage_error(_run(*args, "jupyter/base-notebook"), contains=contains)


def test_an_invalid_reference_stops_before_any_work(tmp_path: Path) -> None:
    outputs = tmp_path / "github-output"
    result = _run("--github-output", str(outputs), "Not A/Valid Reference!")
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("validate-image: error: invalid image reference")
    # The step outputs still say the image could not be checked.
    assert outputs.read_text(encoding="utf-8") == (
        "verdict=error\ncompatible=false\ndigest=\nreport-json=\n"
    )


def test_github_format_annotates_and_summarises_a_stop_before_any_report(
    tmp_path: Path,
) -> None:
    summary = tmp_path / "summary.md"
    result = _run(
        "--format", "github", "--github-summary", str(summary), "--", "Not A/Valid Reference!"
    )  # fmt: skip
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    (command,) = result.stdout.splitlines()
    assert command == (f"::error title=validate-image could not check the image::{line}")
    assert summary.read_text(encoding="utf-8") == (
        f"### ❗ `Not A/Valid Reference!` could not be validated\n\n    {line}\n"
    )


def test_other_formats_print_no_workflow_command_for_a_stop(tmp_path: Path) -> None:
    result = _run("--github-summary", str(tmp_path / "s.md"), "Not A/Valid Reference!")
    assert result.exit_code == 2 and result.stdout == ""
    # The summary was asked for by name, so it says why there is no report.
    assert "could not be validated" in (tmp_path / "s.md").read_text(encoding="utf-8")


def test_password_stdin_needs_a_username() -> None:
    result = _run("--password-stdin", "jupyter/base-notebook", stdin="secret\n")
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith("validate-image: error:")
    assert "secret" not in result.output


def test_help_shows_the_descriptions_declared_with_the_options() -> None:
    result = _run("--help")
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())  # click wraps the help
    assert describe("pull") in text
    assert "--github-output" in text and "--sarif" in text


def _report(*statuses: Status) -> Report:
    report = Report(
        reference="docker.io/team/img:1",
        profile="z2jh",
        hub_version="5.4.6",
        validator_version=__version__,
    )
    for n, status in enumerate(statuses):
        report.add(Finding(f"check-{n}", status, "message"))
    return report


def test_fail_on_warning_fails_a_compatible_image_that_warns() -> None:
    warned = _report(Status.PASS, Status.WARN)
    assert exit_code([warned]) == 0
    assert exit_code([warned], warnings_fail=True) == 1
    assert exit_code([_report(Status.PASS)], warnings_fail=True) == 0


def test_a_tool_error_outranks_an_incompatible_image() -> None:
    assert exit_code([_report(Status.FAIL), _report(Status.ERROR)]) == 2
    assert exit_code([_report(Status.FAIL), _report(Status.PASS)]) == 1


def test_github_output_uses_a_heredoc_for_a_value_with_a_line_break(tmp_path: Path) -> None:
    path = tmp_path / "out"
    _write_github_output(path, {"verdict": "error", "note": "two\nlines"})
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "verdict=error"
    name, delimiter = lines[1].split("<<")
    assert name == "note" and delimiter.startswith("ghadelimiter_")
    assert lines[2:] == ["two", "lines", delimiter]


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e308", "-1", "soon"])
def test_a_stable_window_that_never_ends_is_refused(value: str) -> None:
    # nan passes click's FloatRange (every comparison with it is false) and inf never
    # ends a wait: both must be a usage error before any container starts.
    _one_line_usage_error(_run("img", "--stable-window", value), contains="--stable-window")


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--uid", str(2**32)),
        ("--uid", "-1"),
        ("--port", "0"),
        ("--port", "65536"),
        ("--timeout", "0"),
    ],
)
def test_numbers_out_of_range_are_refused(flag: str, value: str) -> None:
    _one_line_usage_error(_run("img", flag, value), contains=flag)
