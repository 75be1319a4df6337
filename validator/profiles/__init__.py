"""Target profiles: what the hub we validate for does when it spawns an image.

Profiles are YAML data shipped in ``validator/profiles/``; a user can pass a file of
their own. A profile may ``extends:`` another one. Loading reports every schema
error at once, each naming its field.
"""

from __future__ import annotations

import math
import re
import secrets
from enum import Enum
from importlib import resources
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from validator.errors import ProfileError

DEFAULT_PROFILE = "jupyter4nfdi"
_VERSION_RE = re.compile(r"^\d+\.\d+\.\d+$")
# The mount-path pattern of the Jupyter4NFDI spawn form, anchored at both ends here.
_MOUNT_PATH_RE = re.compile(r"^/[A-Za-z0-9\-/_.]+$")
_PROFILE_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_OWNER_RE = re.compile(r"^\d{1,10}:\d{1,10}$")

VolumeKind = Literal["bind", "docker-volume", "pvc"]
ProfilePullPolicy = Literal["always", "if-not-present", "never"]


class CommandMode(str, Enum):
    """How the spawner chooses the container's command.

    image:      the image's own CMD, after its ENTRYPOINT (DockerSpawner; KubeSpawner cmd=None).
    singleuser: ``jupyterhub-singleuser`` replaces CMD, the ENTRYPOINT stays (z2jh's default).
    job:        ``/bin/bash -lc jupyterhub-singleuser`` replaces CMD, the ENTRYPOINT stays
                (how a hub's job API starts a server to run a script in it).
    """

    IMAGE = "image"
    SINGLEUSER = "singleuser"
    JOB = "job"


class Profile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(description="Short name, used on the command line and in reports.")
    description: str = Field("", description="One line shown by --list-profiles.")
    hub_version: str = Field(description="JupyterHub version of the target hub (X.Y.Z).")
    spawner: str = Field("dockerspawner", description="Spawner the hub uses, for the record.")
    platform: str = Field("linux/amd64", description="os/architecture the hub's nodes run.")
    command_modes: list[CommandMode] = Field(
        min_length=1,
        description="How the command is chosen: image (the image CMD), singleuser "
        "(jupyterhub-singleuser replaces CMD) and/or job (bash -lc jupyterhub-singleuser); "
        "each mode is spawned and probed, and its failures decide the verdict.",
    )
    advisory_command_modes: list[CommandMode] = Field(
        default_factory=list,
        description="Further modes the platform also uses (e.g. its job API); each is "
        "spawned and probed, but its failures are reported as warnings.",
    )
    port: int = Field(8888, ge=1, le=65535, description="Port in JUPYTERHUB_SERVICE_URL.")
    internal_ssl: bool = Field(
        False,
        description="The hub's internal_ssl: the server must serve HTTPS with the "
        "certificates named by JUPYTERHUB_SSL_KEYFILE/CERTFILE/CLIENT_CA.",
    )
    ssl_mount_path: str = Field(
        "/etc/jupyterhub/ssl",
        description="Where the spawner mounts the internal-SSL certificates (read-only).",
    )
    user_name: str = Field(
        "validator",
        pattern=r"^[a-z0-9][a-z0-9._@+-]*$",
        description="Hub user name in the URL (identity strings with @ and . are allowed).",
    )
    server_name: str = Field("", pattern=r"^[a-z0-9._-]*$", description="Named server, or ''.")
    random_server_name: bool = Field(
        False,
        description="Each spawn gets a fresh random 32-character server name "
        "(a letter, then hex), as platforms that name every server do.",
    )
    uid: int | None = Field(None, ge=0, description="uid to run as; null keeps the image USER.")
    gid: int | None = Field(None, ge=0, description="Primary gid with uid; null: from the image.")
    fs_gid: int | None = Field(None, ge=0, description="Supplementary group owning volumes.")
    home_volume: str | None = Field(None, description="An empty volume is mounted here.")
    mount_path: str | None = Field(None, description="User-data mount path, if any.")
    volume_kind: VolumeKind = Field(
        "pvc",
        description="What home_volume and mount_path are: bind (an existing, empty "
        "directory owned by volume_owner, mode 0755; no copy-up of the image's files, no "
        "fsGroup chown: a hostPath or NFS directory), docker-volume (a Docker named volume: "
        "on first use Docker copies in the image's files and the directory's owner and "
        "mode), pvc (empty, owner root, group fs_gid, mode 2775; mode 1777 without fs_gid).",
    )
    volume_owner: str | None = Field(
        None,
        description="uid:gid that owns a bind volume's directory (required for bind); a "
        "server running as another uid can read it but not write to it.",
    )
    allow_privilege_escalation: bool = Field(
        False, description="False runs the server with no-new-privileges (sudo fails)."
    )
    privileged: bool = Field(
        False,
        description="The platform runs servers privileged. Recorded only: the validator never "
        "runs an untrusted image privileged.",
    )
    pull_policy: ProfilePullPolicy = Field(
        "if-not-present", description="When the spawner pulls the image before a start."
    )
    pull_bandwidth_mbps: float = Field(
        100.0,
        gt=0,
        le=100_000,
        description="Bandwidth (Mbit/s) from the registry to the platform's nodes, for pull-time.",
    )
    start_timeout: int = Field(
        60, ge=1, le=3600, description="Seconds the spawner may take to start (pull included)."
    )
    http_timeout: int = Field(
        30, ge=1, le=86_400, description="Seconds the server may take to answer {prefix}api."
    )
    size_budget_mb: int = Field(
        10_000, ge=1, description="Image size above which image-size warns."
    )
    hub_api_public_https: bool = Field(
        False,
        description="Servers reach the hub through a public https URL (JUPYTERHUB_API_URL), "
        "so the image needs a CA bundle that verifies public certificates.",
    )
    platform_tools: list[str] = Field(
        default_factory=list,
        description="Commands the platform's own hooks run inside the server's container.",
    )
    sources: dict[str, str] = Field(
        default_factory=dict,
        description="Where each field's value comes from (field name -> source).",
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

    @field_validator("pull_bandwidth_mbps")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("expected a finite number")
        return value

    @field_validator("ssl_mount_path")
    @classmethod
    def _ssl_path(cls, value: str) -> str:
        if not _MOUNT_PATH_RE.match(value):
            raise ValueError(f"expected an absolute path like /etc/jupyterhub/ssl, got {value!r}")
        return value.rstrip("/") or "/"

    @field_validator("platform_tools")
    @classmethod
    def _tool_names(cls, value: list[str]) -> list[str]:
        bad = [t for t in value if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._+-]*", t)]
        if bad:
            raise ValueError(f"expected command names, got {bad!r}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Profile:
        if self.volume_owner is not None and not _OWNER_RE.match(self.volume_owner):
            raise ValueError(f"volume_owner: expected uid:gid, got {self.volume_owner!r}")
        if self.volume_kind == "bind" and self.volume_owner is None:
            raise ValueError("volume_owner: required when volume_kind is bind")
        overlap = set(self.command_modes) & set(self.advisory_command_modes)
        if overlap:
            shown = ", ".join(sorted(m.value for m in overlap))
            raise ValueError(f"advisory_command_modes: {shown} already decide the verdict")
        unknown = sorted(set(self.sources) - set(type(self).model_fields))
        if unknown:
            raise ValueError(f"sources: no such fields {unknown}")
        return self

    @property
    def all_command_modes(self) -> list[CommandMode]:
        """Every mode that is spawned: first those that decide, then the advisory ones."""
        return [*self.command_modes, *self.advisory_command_modes]

    @property
    def volume_owner_ids(self) -> tuple[int, int] | None:
        if self.volume_owner is None:
            return None
        uid, gid = self.volume_owner.split(":")
        return int(uid), int(gid)

    def for_spawn(self) -> Profile:
        """The profile one spawn runs under: a fresh server name when the platform draws one."""
        if not self.random_server_name:
            return self
        # A letter first, as the platform's own names: a name must not look like a number.
        name = secrets.choice("abcdef") + secrets.token_hex(16)[1:]
        return self.model_copy(update={"server_name": name})

    def judged_under(self) -> dict[str, str]:
        """The settings a verdict depends on, as a report states them."""
        user = f"uid {self.uid}" if self.uid is not None else "the image USER"
        if self.uid is not None and self.gid is not None:
            user += f", gid {self.gid}"
        if self.fs_gid is not None:
            user += f", fsGroup {self.fs_gid}"
        volumes = [p for p in (self.home_volume, self.mount_path) if p]
        volume = "none"
        if volumes:
            volume = f"{self.volume_kind} at {', '.join(volumes)}"
            if self.volume_kind == "bind":
                volume += f" (owner {self.volume_owner})"
        policy = ", ".join(m.value for m in self.command_modes)
        if self.advisory_command_modes:
            advisory = ", ".join(m.value for m in self.advisory_command_modes)
            policy += f" (advisory: {advisory})"
        return {
            "policy": policy,
            "port": str(self.port),
            "tls": "internal SSL" if self.internal_ssl else "plain HTTP",
            "user": user,
            "volume": volume,
            "prefix": self.service_prefix,
            "timeouts": f"start {self.start_timeout} s, http {self.http_timeout} s",
        }

    @property
    def hub_major(self) -> int:
        return int(self.hub_version.split(".")[0])

    @property
    def service_prefix(self) -> str:
        """The URL prefix the hub gives the server: /user/<u>/ or /user/<u>/<server>/."""
        # JupyterHub escapes the name in its URLs, leaving @ and ~ as they are.
        user = quote(self.user_name, safe="@~")
        if self.server_name:
            return f"/user/{user}/{self.server_name}/"
        return f"/user/{user}/"

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
