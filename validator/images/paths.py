"""Where the templates and the catalogue are, and which commit they come from.

Both live at the top of a clone (``templates/``, ``base-images/``): they are the
project's data, edited in place. A built wheel carries a copy of them (and of
``.hadolint.yaml``) as package data under ``validator/images/data/``, so
``build-images`` works from a pip install too.
"""

from __future__ import annotations

import subprocess
from importlib import resources
from pathlib import Path

# validator/images/paths.py -> the clone's top directory (a clone or an editable install).
_CLONE = Path(__file__).resolve().parents[2]


def _package_data() -> Path:
    # An installed wheel is a plain directory, never a zip, so a Path is enough.
    return Path(str(resources.files("validator.images") / "data"))


def default_dir(name: str) -> Path:
    """``./name`` when it exists (running from a clone), else the installed package's
    copy, else the top of the clone the package is in."""
    for base in (Path.cwd(), _package_data(), _CLONE):
        candidate = base / name
        if candidate.exists():
            return candidate
    return _CLONE / name


def _git(directory: Path, *args: str) -> str | None:
    """The stripped output of ``git -C directory ARGS``, or None when git fails or is absent."""
    try:
        result = subprocess.run(
            ["git", "-C", str(directory), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def git_commit(directory: Path) -> str | None:
    """The full commit id of the clone holding ``directory``, or None outside git."""
    return _git(directory, "rev-parse", "HEAD") or None


def git_dirty(
    directory: Path, paths: tuple[str, ...] = ("templates", "base-images")
) -> bool | None:
    """Whether the clone has uncommitted changes under ``paths``; None outside git."""
    status = _git(directory, "status", "--porcelain", "--", *paths)
    return None if status is None else bool(status)
