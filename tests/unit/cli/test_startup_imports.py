"""``--version``/``--help`` of the commands must not load the heavy libraries (issue #13).

A regression guard on what is imported, not on time: a fresh interpreter imports the
entry module, runs the command, and lists which heavy modules ended up in sys.modules.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = (
    "docker",
    "testcontainers",
    "requests",
    "pydantic",
    "yaml",
    "sqlalchemy",
    "validator.service",
    "validator.images.pipeline",
    "validator.runtime.sandbox",
    "validator.runtime.hubstub",
    "validator.validate",
    "validator.report",
    "validator.checks",
    "validator.profiles",
)

_PROBE = """
import importlib, json, sys
cli = importlib.import_module(sys.argv[1])
try:
    cli.main(json.loads(sys.argv[2]), prog_name="probe")
except SystemExit:
    pass
heavy = json.loads(sys.argv[3])
print(json.dumps(sorted(m for m in sys.modules if any(m == h or m.startswith(h + ".") for h in heavy))))
"""

ROOT = Path(__file__).resolve().parents[3]


def _loaded_after(module: str, *argv: str) -> list[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, module, json.dumps(argv), json.dumps(HEAVY)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=60,
    )
    loaded: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


@pytest.mark.parametrize(
    "module, argv",
    [
        ("validator.cli.validate", ["--version"]),
        ("validator.cli.validate", ["--help"]),
        ("validator.images.cli", ["--help"]),
        ("validator.images.cli", ["build", "--help"]),
        ("validator.compat.cli", ["--help"]),
    ],
)
def test_version_and_help_load_no_heavy_module(module: str, argv: list[str]) -> None:
    assert _loaded_after(module, *argv) == []


def test_the_probe_sees_a_heavy_import() -> None:
    # The guard itself can fail: a run that does use the engine loads docker.
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    code = "import sys, validator.image; print('docker' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert done.stdout.strip() == "True"
