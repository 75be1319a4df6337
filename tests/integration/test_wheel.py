"""A built wheel, installed in a fresh venv, carries everything the commands read.

No Docker: ``validate-image --list-profiles``, ``build-images list`` and
``build-images render`` read only the profiles, templates and catalogue, which in a
clone sit at the top of the repository and in a wheel are package data. Slow-ish: pip
builds the wheel (fetching hatchling for its isolated build) and creates a venv.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from tests.support.skip import unavailable

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(REPO)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        # Offline, pip cannot fetch the build backend; anything else is our bug.
        if "hatchling" in result.stderr and "No matching distribution" in result.stderr:
            unavailable(f"cannot fetch the build backend: {result.stderr[-300:]}")
        pytest.fail(f"pip wheel failed:\n{result.stdout}\n{result.stderr}", pytrace=False)
    (built,) = out.glob("jupyterhub_image_validator-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv holding the wheel; its dependencies come from this interpreter's site."""
    env_dir = tmp_path_factory.mktemp("venv")
    venv.create(env_dir, system_site_packages=True, with_pip=True)
    result = subprocess.run(
        [
            str(env_dir / "bin" / "python"),
            *("-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", str(wheel)),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=_clean_env(),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return env_dir


def _clean_env() -> dict[str, str]:
    # PYTHONPATH would put a checkout's validator/ ahead of the installed one.
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def _run(venv_dir: Path, cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(venv_dir / "bin" / argv[0]), *argv[1:]],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env=_clean_env(),
        check=False,
    )


def test_the_wheel_holds_profiles_templates_catalogue_and_facts(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    data = "validator/images/data/"
    expected = {
        "validator/py.typed",
        "validator/profiles/jupyter4nfdi.yaml",
        "validator/images/facts.py",
        data + ".hadolint.yaml",
        data + "templates/NOTICE.md",
        data + "templates/_macros.j2",
        data + "templates/_build/env-install.sh",
    }
    expected |= {f"{data}base-images/{p.name}" for p in (REPO / "base-images").glob("*.yaml")}
    expected |= {
        f"{data}templates/{p.relative_to(REPO / 'templates')}"
        for p in (REPO / "templates").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    expected |= {
        f"validator/profiles/{p.name}" for p in (REPO / "validator" / "profiles").glob("*.yaml")
    }
    assert expected - names == set()
    # The data is the wheel's own copy, not a second top-level package.
    assert not any(n.startswith(("templates/", "base-images/")) for n in names)


def test_the_installed_package_is_the_wheel_not_the_checkout(
    installed: Path, tmp_path: Path
) -> None:
    result = _run(
        installed, tmp_path, "python", "-c", "import validator; print(validator.__file__)"
    )
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()).is_relative_to(installed)


def test_validate_image_lists_the_profiles_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    result = _run(installed, tmp_path, "validate-image", "--list-profiles")
    assert result.returncode == 0, result.stderr
    for profile in (REPO / "validator" / "profiles").glob("*.yaml"):
        assert profile.stem in result.stdout


def test_build_images_lists_the_catalogue_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    result = _run(installed, tmp_path, "build-images", "list")
    assert result.returncode == 0, result.stderr
    for image in (REPO / "base-images").glob("*.yaml"):
        assert image.stem in result.stdout


def test_build_images_renders_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    result = _run(installed, tmp_path, "build-images", "render", "base", "--out", "contexts")
    assert result.returncode == 0, result.stderr
    dockerfiles = sorted((tmp_path / "contexts").rglob("Dockerfile"))
    # base and its parent, the foundation, each get a context.
    assert len(dockerfiles) >= 2, result.stdout
    assert all("FROM" in d.read_text() for d in dockerfiles)


@pytest.mark.parametrize("module", ["validator.checks.doc", "validator.profiles.doc"])
def test_the_doc_generators_run_from_the_wheel(
    installed: Path, tmp_path: Path, module: str
) -> None:
    result = _run(installed, tmp_path, "python", "-m", module)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# ")


def test_the_facts_program_ships_and_runs(installed: Path, tmp_path: Path) -> None:
    # What collect_facts hands to an image's python3, run here with the venv's python.
    program = (
        "import subprocess, sys\n"
        "from validator.images.manifest import _facts_script, parse_facts\n"
        "out = subprocess.run([sys.executable, '-c', _facts_script()],"
        " capture_output=True, text=True, check=True).stdout\n"
        "print(parse_facts(out).python_version)\n"
    )
    result = _run(installed, tmp_path, "python", "-c", program)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ".".join(map(str, sys.version_info[:3]))
