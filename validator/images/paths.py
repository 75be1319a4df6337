"""Where the templates and the catalogue are, and which commit they come from.

Both live at the top of a clone (``templates/``, ``base-images/``), not in the
package: they are the project's data, edited in place. From an installed package
without a clone, pass --templates and --catalogue.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

# validator/images/paths.py -> the clone's top directory.
_CLONE = Path(__file__).resolve().parents[2]


def default_dir(name: str) -> Path:
    """``./name`` when it exists (running from a clone), else the clone the package is in."""
    here = Path.cwd() / name
    return here if here.exists() else _CLONE / name


def git_commit(directory: Path) -> str | None:
    """The full commit id of the clone holding ``directory``, or None outside git."""
    try:
        result = subprocess.run(
            ["git", "-C", str(directory), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    commit = result.stdout.strip()
    return commit if result.returncode == 0 and commit else None


def git_dirty(
    directory: Path, paths: tuple[str, ...] = ("templates", "base-images")
) -> bool | None:
    """Whether the clone has uncommitted changes under ``paths``; None outside git."""
    try:
        result = subprocess.run(
            ["git", "-C", str(directory), "status", "--porcelain", "--", *paths],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return bool(result.stdout.strip()) if result.returncode == 0 else None
