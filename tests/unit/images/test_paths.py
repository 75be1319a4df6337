"""Where build-images finds its templates and catalogue: cwd, then the wheel, then the clone."""

from __future__ import annotations

from pathlib import Path

import pytest

from validator.images import paths

REPO = Path(__file__).resolve().parents[3]


def test_a_clone_s_data_is_found_from_anywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert paths.default_dir("templates") == REPO / "templates"
    assert paths.default_dir("base-images") == REPO / "base-images"


def test_the_current_directory_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "templates").mkdir()
    monkeypatch.chdir(tmp_path)
    assert paths.default_dir("templates") == tmp_path / "templates"


def test_installed_package_data_comes_before_the_clone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    (data / "base-images").mkdir(parents=True)
    monkeypatch.setattr(paths, "_package_data", lambda: data)
    monkeypatch.chdir(tmp_path / "data" / "base-images")
    assert paths.default_dir("base-images") == data / "base-images"
