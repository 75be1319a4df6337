"""Target profiles: what the hub we validate for does when it spawns an image.

Profiles are YAML data shipped in ``validator/profiles/``; a user can pass a file of
their own. A profile may ``extends:`` another one. Loading reports every schema
error at once, each naming its field.
"""

from __future__ import annotations

import re
from enum import Enum
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from validator.errors import ProfileError

DEFAULT_PROFILE = "jupyter4nfdi"
_VERSION_RE = re.compile(r"^\d+\.\d+\.\d+$")
# The mount-path pattern of the Jupyter4NFDI spawn form, anchored at both ends here.
_MOUNT_PATH_RE = re.compile(r"^/[A-Za-z0-9\-/_.]+$")
_PROFILE_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class CommandMode(str, Enum):
    """How the spawner chooses the container's command.

    image:      the image's own CMD, after its ENTRYPOINT (DockerSpawner; KubeSpawner cmd=None).
    singleuser: ``jupyterhub-singleuser`` replaces CMD, the ENTRYPOINT stays (z2jh's default).
    """

    IMAGE = "image"
    SINGLEUSER = "singleuser"


class Profile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(description="Short name, used on the command line and in reports.")
    description: str = Field("", description="One line shown by --list-profiles.")
    hub_version: str = Field(description="JupyterHub version of the target hub (X.Y.Z).")
    spawner: str = Field("dockerspawner", description="Spawner the hub uses, for the record.")
    platform: str = Field("linux/amd64", description="os/architecture the hub's nodes run.")
    command_modes: list[CommandMode] = Field(
        min_length=1,
        description="How the command is chosen: image (the image CMD) and/or singleuser "
        "(jupyterhub-singleuser replaces CMD); each mode is spawned and probed.",
    )
    port: int = Field(8888, ge=1, le=65535, description="Port in JUPYTERHUB_SERVICE_URL.")
    user_name: str = Field(
        "validator", pattern=r"^[a-z0-9][a-z0-9._-]*$", description="Hub user name in the URL."
    )
    server_name: str = Field("", pattern=r"^[a-z0-9._-]*$", description="Named server, or ''.")
    uid: int | None = Field(None, ge=0, description="uid to run as; null keeps the image USER.")
    gid: int | None = Field(None, ge=0, description="Primary gid with uid; null: from the image.")
    fs_gid: int | None = Field(None, ge=0, description="Supplementary group owning volumes.")
    home_volume: str | None = Field(None, description="An empty volume is mounted here.")
    mount_path: str | None = Field(None, description="User-data mount path, if any.")
    allow_privilege_escalation: bool = Field(
        False, description="False runs the server with no-new-privileges (sudo fails)."
    )
    start_timeout: int = Field(
        60, ge=1, le=3600, description="Seconds the spawner may take to start (pull included)."
    )
    http_timeout: int = Field(
        30, ge=1, le=3600, description="Seconds the server may take to answer {prefix}api."
    )
    size_budget_mb: int = Field(
        10_000, ge=1, description="Image size above which image-size warns."
    )

    @field_validator("hub_version")
    @classmethod
    def _version(cls, value: str) -> str:
        if not _VERSION_RE.match(value):
            raise ValueError(f"expected X.Y.Z, got {value!r}")
        return value

    @field_validator("platform")
    @classmethod
    def _platform(cls, value: str) -> str:
        if value.count("/") not in (1, 2):
            raise ValueError(f"expected os/arch[/variant], got {value!r}")
        return value

    @field_validator("home_volume", "mount_path")
    @classmethod
    def _abs_path(cls, value: str | None) -> str | None:
        if value is not None and not _MOUNT_PATH_RE.match(value):
            raise ValueError(f"expected an absolute path like /mnt/userdata, got {value!r}")
        return value.rstrip("/") or "/" if value is not None else None

    @property
    def hub_major(self) -> int:
        return int(self.hub_version.split(".")[0])

    @property
    def service_prefix(self) -> str:
        """The URL prefix the hub gives the server: /user/<u>/ or /user/<u>/<server>/."""
        if self.server_name:
            return f"/user/{self.user_name}/{self.server_name}/"
        return f"/user/{self.user_name}/"

    def with_overrides(self, **overrides: Any) -> Profile:
        """A copy with the given fields replaced (None means: keep), re-validated."""
        changes = {k: v for k, v in overrides.items() if v is not None}
        if not changes:
            return self
        return _validate({**self.model_dump(), **changes}, source=f"profile {self.name!r}")


def _format_errors(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {msg}")
    return "; ".join(parts)


def _validate(data: dict[str, Any], source: str) -> Profile:
    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        raise ProfileError(
            f"{source} is invalid: {_format_errors(exc)}",
            hint="see 'validate-image --list-profiles' and docs/profiles.md",
        ) from None


def _builtin_dir() -> Path:
    return Path(str(resources.files("validator") / "profiles"))


def builtin_names() -> list[str]:
    return sorted(p.stem for p in _builtin_dir().glob("*.yaml"))


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ProfileError(f"cannot read profile {str(path)!r}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise ProfileError(f"profile {str(path)!r} is not valid YAML{at}: {problem}") from None
    if not isinstance(data, dict):
        raise ProfileError(f"profile {str(path)!r} must be a mapping of fields")
    return data


def _raw(name_or_path: str, seen: tuple[str, ...] = ()) -> tuple[dict[str, Any], str]:
    if name_or_path in seen:
        raise ProfileError(f"profile 'extends' loops: {' -> '.join((*seen, name_or_path))}")
    if _PROFILE_NAME_RE.match(name_or_path) and not name_or_path.endswith((".yaml", ".yml")):
        path = _builtin_dir() / f"{name_or_path}.yaml"
        if not path.is_file():
            raise ProfileError(
                f"unknown profile {name_or_path!r}",
                hint=f"choose one of {', '.join(builtin_names())} or pass a YAML file",
            )
    else:
        path = Path(name_or_path)
    data = _read_yaml(path)
    parent = data.pop("extends", None)
    if parent is not None:
        if not isinstance(parent, str):
            raise ProfileError(f"profile {str(path)!r}: extends must be a profile name")
        base, _ = _raw(parent, (*seen, name_or_path))
        base.pop("name", None)  # a child is its own profile, whatever it extends
        data = {**base, **data}
    data.setdefault("name", path.stem)
    return data, str(path)


def load_profile(name_or_path: str = DEFAULT_PROFILE) -> Profile:
    """A built-in profile by name, or a YAML file by path."""
    data, source = _raw(name_or_path)
    return _validate(data, source=f"profile {source!r}")


def list_profiles() -> list[Profile]:
    return [load_profile(name) for name in builtin_names()]
