"""``build-images`` argument handling, without Docker: one line and exit 2 for mistakes."""

from __future__ import annotations

import pytest
from click.testing import CliRunner, Result

from validator import __version__
from validator.images.cli import main


def _run(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=stdin)


def test_version() -> None:
    result = _run("--version")
    assert result.exit_code == 0
    assert result.stdout == f"build-images, version {__version__}\n"


def test_list_names_the_catalogue() -> None:
    result = _run("list")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip()


@pytest.mark.parametrize(
    ("args", "contains"),
    [
        (("build", "--env", "all"), "Invalid value for '--env'"),
        (("render", "--env", "venv"), "Invalid value for '--env'"),
        (("build", "--password", "x"), "--password-stdin"),
        (("build", "--password-stdin"), "--password-stdin needs --username"),
        (("build", "--username", "robot"), "--username is for --push"),
        (("nonsense",), "No such command 'nonsense'"),
    ],
)
def test_bad_arguments_are_one_line_usage_errors(args: tuple[str, ...], contains: str) -> None:
    result = _run(*args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert contains in result.stderr
    assert result.stdout == ""
