"""Report files are checked before any work and a failed write is one line, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from validator.cli.validate import _write, main
from validator.errors import ValidatorError


@pytest.mark.parametrize("flag", ["--output", "--json", "--junit", "--sarif"])
@pytest.mark.parametrize("value", ["", " ", "{tmp}", "{tmp}/a-file/report.json"])
def test_a_report_file_that_cannot_be_written_is_a_usage_error(
    tmp_path: Path, flag: str, value: str
) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    # A Docker engine that does not exist: reaching it would be a different error.
    result = CliRunner().invoke(
        main,
        ["jhiv-test/good", flag, value.format(tmp=tmp_path)],
        env={"DOCKER_HOST": "unix:///nonexistent.sock"},
    )
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '{flag}'" in result.output
    assert "Traceback" not in result.output


def test_a_report_file_in_a_new_directory_is_accepted(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["jhiv-test/good", "--output", str(tmp_path / "new" / "dir" / "report.txt")],
        env={"DOCKER_HOST": "unix:///nonexistent.sock"},
    )
    assert "Invalid value" not in result.output  # it got as far as the engine
    assert result.exit_code == 2


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full")
def test_a_full_disk_is_a_one_line_tool_error() -> None:
    with pytest.raises(ValidatorError) as caught:
        _write(Path("/dev/full"), "report\n")
    assert caught.value.one_line().startswith("cannot write '/dev/full': No space left")
