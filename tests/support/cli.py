"""The real ``validate-image`` command, run in a child process as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


def run_cli(*args: str, timeout: float = 300, input_text: str | None = None) -> CliResult:
    """Run the real ``validate-image`` command in a child process."""
    proc = subprocess.run(
        [sys.executable, "-m", "validator", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        input=input_text,
        env={**os.environ, "NO_COLOR": "1"},
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)
