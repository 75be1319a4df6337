"""What ``validate-image`` was asked to do, as one typed value built once from the
command line (black's ``main`` -> ``Mode`` idea), so nothing past the parser looks an
option up by its name."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from validator.options import PullPolicy

FailOn = Literal["error", "warning"]
FAIL_ON: tuple[str, ...] = get_args(FailOn)


@dataclass(frozen=True)
class ProfileOverrides:
    """Profile fields replaced from the command line (None: the profile's value)."""

    hub_version: str | None = None
    mount_path: str | None = None
    uid: int | None = None
    port: int | None = None
    timeout: int | None = None


@dataclass(frozen=True)
class Login:
    registry_url: str | None = None
    username: str | None = None
    password_stdin: bool = False
    ca_cert: Path | None = None
    insecure_registries: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outputs:
    """Where the reports go: one format on stdout (or ``output``), plus side files."""

    fmt: str = "text"
    output: Path | None = None
    junit: Path | None = None
    json_file: Path | None = None
    sarif_file: Path | None = None
    github_summary: Path | None = None
    github_output: Path | None = None
    # None: colour on a terminal unless NO_COLOR is set.
    color: bool | None = None


@dataclass(frozen=True)
class CliArgs:
    images: tuple[str, ...]
    profile_name: str
    overrides: ProfileOverrides
    outputs: Outputs
    login: Login
    pull: PullPolicy = "missing"
    no_cache: bool = False
    static_only: bool = False
    stable_window: float = 10.0
    max_wait: float = 300.0
    allow_egress: bool = False
    parallel: int = 1
    keep: bool = False
    # --fail-on warning: a warned check fails a compatible image (exit 1).
    warnings_fail: bool = False
