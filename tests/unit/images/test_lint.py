"""hadolint passes on every rendered Dockerfile (both environments, every hub), with
the committed config; and its report is parsed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from validator.images.lint import find_hadolint, parse_report

REPO = Path(__file__).resolve().parents[3]


def test_hadolint_passes_on_every_rendered_dockerfile() -> None:
    find_hadolint()  # installed with the test extra; a missing one is a failure here
    result = subprocess.run(
        [sys.executable, "-m", "validator.images", "lint", "--env", "all"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "20 Dockerfile(s), passed" in result.stderr
    assert "config " in result.stderr and ".hadolint.yaml" in result.stderr


def test_report_is_parsed() -> None:
    report = (
        '[{"code":"DL3002","column":1,"file":"Dockerfile","level":"warning",'
        '"line":7,"message":"Last USER should not be root"}]'
    )
    (finding,) = parse_report(report)
    assert finding.one_line() == "Dockerfile:7 DL3002 warning: Last USER should not be root"
    assert parse_report("") == []
