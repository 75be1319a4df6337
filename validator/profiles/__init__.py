"""Target profiles: what the hub we validate for does when it spawns an image.

Profiles are YAML data shipped in ``validator/profiles/``; a user can pass a file of
their own. A profile may ``extends:`` another one. Loading reports every schema
error at once, each naming its field.
"""

from __future__ import annotations

import difflib
import math
import re
import secrets
from enum import Enum
from importlib import resources
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from validator.choices import DEFAULT_PROFILE
from validator.errors import ProfileError
from validator.profiles import reading
from validator.profiles.mounts import check_mount_path, overlaps

# fullmatch and [0-9], not \d and $: \d takes any script's digits and $ matches before a
# trailing newline. Four digits a part keep int() far from its 4 300-digit limit.
VERSION_RE = re.compile(r"[0-9]{1,4}\.[0-9]{1,4}\.[0-9]{1,4}")
_PROFILE_NAME_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_OWNER_RE = re.compile(r"([0-9]{1,10}):([0-9]{1,10})")
_PROFILE_FILE_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\.ya?ml")
# The largest uid/gid the kernel takes: 32 bits less (uid_t)-1, which means "no change".
MAX_ID = 2**32 - 2
# How many profiles an extends chain may read; real ones are one or two deep.
MAX_EXTENDS = 8
# Printable ASCII: names and labels end up in URLs, headers and report lines.
_LABEL = r"^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$"

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

    name: str = Field(
        max_length=100,
        pattern=_LABEL,
        description="Short name, used on the command line and in reports.",
    )
    description: str = Field(
        "",
        max_length=300,
        pattern=r"^[^\x00-\x1f\x7f]*$",
        description="One line shown by --list-profiles.",
    )
    hub_version: str = Field(description="JupyterHub version of the target hub (X.Y.Z).")
    spawner: str = Field(
        "dockerspawner",
        max_length=100,
        pattern=_LABEL,
        description="Spawner the hub uses, for the record.",
    )
    platform: str = Field("linux/amd64", description="os/architecture the hub's nodes run.")
    command_modes: list[CommandMode] = Field(
        min_length=1,
        max_length=len(CommandMode),
        description="How the command is chosen: image (the image CMD), singleuser "
        "(jupyterhub-singleuser replaces CMD) and/or job (bash -lc jupyterhub-singleuser); "
        "each mode is spawned and probed, and its failures decide the verdict.",
    )
    advisory_command_modes: list[CommandMode] = Field(
        default_factory=list,
        max_length=len(CommandMode),
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
        max_length=255,
        pattern=r"^[a-z0-9][a-z0-9._@+-]*$",
        description="Hub user name in the URL (identity strings with @ and . are allowed).",
    )
    server_name: str = Field(
        "", max_length=255, pattern=r"^[a-z0-9._-]*$", description="Named server, or ''."
    )
    random_server_name: bool = Field(
        False,
        description="Each spawn gets a fresh random 32-character server name "
        "(a letter, then hex), as platforms that name every server do.",
    )
    uid: int | None = Field(
        None, ge=0, le=MAX_ID, description="uid to run as; null keeps the image USER."
    )
    gid: int | None = Field(
        None, ge=0, le=MAX_ID, description="Primary gid with uid; null: from the image."
    )
    fs_gid: int | None = Field(
        None, ge=0, le=MAX_ID, description="Supplementary group owning volumes."
    )
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
        10_000, ge=1, le=10_000_000, description="Image size above which image-size warns."
    )
    hub_api_public_https: bool = Field(
        False,
        description="Servers reach the hub through a public https URL (JUPYTERHUB_API_URL), "
        "so the image needs a CA bundle that verifies public certificates.",
    )
    platform_tools: list[str] = Field(
        default_factory=list,
        max_length=100,
        description="Commands the platform's own hooks run inside the server's container.",
    )
    sources: dict[str, str] = Field(
        default_factory=dict,
        max_length=100,
        description="Where each field's value comes from (field name -> source).",
    )

    # The validators' messages never quote the value: it may come from a file the user
    # may not show (reading.py), and a command-line value is quoted by the CLI itself.
    @field_validator("hub_version")
    @classmethod
    def _version(cls, value: str) -> str:
        if VERSION_RE.fullmatch(value) is None:
            raise ValueError("expected X.Y.Z in ASCII digits, like 5.2.1")
        return value

    @field_validator("platform")
    @classmethod
    def _platform(cls, value: str) -> str:
        if re.fullmatch(r"[a-z0-9_]{1,32}/[a-z0-9_]{1,32}(?:/[a-z0-9_]{1,32})?", value) is None:
            raise ValueError("expected os/arch[/variant], like linux/amd64")
        return value

    @field_validator("server_name")
    @classmethod
    def _not_dots(cls, value: str) -> str:
        # "." and ".." would turn the server's URL prefix into a relative path (the user
        # name's pattern already starts with a letter or a digit).
        if value and set(value) == {"."}:
            raise ValueError("expected a name that is not only dots")
        return value

    @field_validator("home_volume", "mount_path")
    @classmethod
    def _abs_path(cls, value: str | None) -> str | None:
        return None if value is None else check_mount_path(value)

    @field_validator("command_modes", "advisory_command_modes")
    @classmethod
    def _once_each(cls, value: list[CommandMode]) -> list[CommandMode]:
        # Each listed mode is one more container: a repeat would spawn it twice.
        if len(set(value)) != len(value):
            raise ValueError("expected each mode once")
        return value

    @field_validator("sources")
    @classmethod
    def _source_texts(cls, value: dict[str, str]) -> dict[str, str]:
        if any(len(v) > 500 or re.search(r"[\x00-\x1f\x7f]", v) for v in value.values()):
            raise ValueError("expected one line of at most 500 characters per source")
        return value

    @field_validator("pull_bandwidth_mbps")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("expected a finite number")
        return value

    @field_validator("ssl_mount_path")
    @classmethod
    def _ssl_path(cls, value: str) -> str:
        return check_mount_path(value)

    @field_validator("platform_tools")
    @classmethod
    def _tool_names(cls, value: list[str]) -> list[str]:
        bad = [t for t in value if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}", t)]
        if bad:
            raise ValueError(f"expected command names ({len(bad)} are not)")
        if len(set(value)) != len(value):
            raise ValueError("expected each command once")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Profile:
        if self.volume_owner is not None:
            owner = _OWNER_RE.fullmatch(self.volume_owner)
            if owner is None or max(int(owner[1]), int(owner[2])) > MAX_ID:
                raise ValueError(f"volume_owner: expected uid:gid, each 0 to {MAX_ID}")
        if self.internal_ssl:
            for name in ("home_volume", "mount_path"):
                path = getattr(self, name)
                if path is not None and overlaps(path, self.ssl_mount_path):
                    raise ValueError(
                        f"{name}: overlaps ssl_mount_path, where the certificates are mounted"
                    )
        if self.volume_kind == "bind" and self.volume_owner is None:
            raise ValueError("volume_owner: required when volume_kind is bind")
        overlap = set(self.command_modes) & set(self.advisory_command_modes)
        if overlap:
            shown = ", ".join(sorted(m.value for m in overlap))
            raise ValueError(f"advisory_command_modes: {shown} already decide the verdict")
        unknown = set(self.sources) - set(type(self).model_fields)
        if unknown:
            raise ValueError(f"sources: no such fields ({_known_or_count(unknown)})")
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


def _known_or_count(keys: set[Any]) -> str:
    """Unknown keys described without quoting them: a count, and the fields they resemble."""
    fields = list(Profile.model_fields)
    near = sorted({m for k in keys for m in difflib.get_close_matches(str(k), fields, 1, 0.75)})
    count = f"{len(keys)} unknown" if len(keys) > 1 else "unknown"
    return f"{count}; did you mean {', '.join(near)}?" if near else count


def _format_errors(exc: ValidationError, lines: dict[str, int]) -> str:
    """Every schema error as ``field (line N): reason``; nothing of the input is quoted."""
    fields = set(Profile.model_fields)
    parts = []
    for err in exc.errors():
        loc = err["loc"]
        head = str(loc[0]) if loc else ""
        line = f"line {lines[head]}" if head in lines else ""
        if err["type"] == "extra_forbidden" and len(loc) == 1:
            parts.append(f"{line or 'a field'}: {_known_or_count({head})} field")
            continue
        # A dict key under a field (sources) is the file's text: shown as <key>.
        where = (
            ".".join(str(p) if isinstance(p, int) or p in fields else "<key>" for p in loc)
            or "(top level)"
        )
        msg = err["msg"].removeprefix("Value error, ")
        parts.append(f"{where}{f' ({line})' if line else ''}: {msg}")
    return "; ".join(parts)


def _validate(data: dict[str, Any], source: str, lines: dict[str, int] | None = None) -> Profile:
    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        raise ProfileError(
            f"{source} is invalid: {_format_errors(exc, lines or {})}",
            hint="see 'validate-image --list-profiles' and docs/profiles.md",
        ) from None


def _builtin_dir() -> Path:
    return Path(str(resources.files("validator") / "profiles"))


def builtin_names() -> list[str]:
    return sorted(p.stem for p in _builtin_dir().glob("*.yaml"))


def _is_builtin_name(text: str) -> bool:
    return _PROFILE_NAME_RE.fullmatch(text) is not None and not text.endswith((".yaml", ".yml"))


def _builtin(name: str) -> Path:
    path = _builtin_dir() / f"{name}.yaml"
    if not path.is_file():
        raise ProfileError(
            f"unknown profile {name!r}",
            hint=f"choose one of {', '.join(builtin_names())} or pass a YAML file",
        )
    return path


def _parent_path(value: object, child: Path) -> Path:
    """Where ``extends: value`` in ``child`` points: a built-in, or a file beside ``child``.

    Relative to the child's directory, not the working directory, and never out of it,
    symlinks included: a profile must not make the tool read /etc/shadow or /dev/zero.
    """
    if isinstance(value, str) and _is_builtin_name(value):
        return _builtin(value)
    if not isinstance(value, str) or _PROFILE_FILE_RE.fullmatch(value) is None:
        raise ProfileError(
            f"profile {str(child)!r}: extends must be a profile name or the file name of a "
            "profile in the same directory (name.yaml)",
            hint=f"built-in profiles: {', '.join(builtin_names())}",
        )
    here = child.resolve().parent
    target = (here / value).resolve()
    if target.parent != here:
        raise ProfileError(
            f"profile {str(child)!r}: extends {value!r} leads out of the profile's directory"
        )
    return target


def _raw(path: Path, seen: tuple[Path, ...] = ()) -> tuple[dict[str, Any], dict[str, int]]:
    key = path.resolve()
    if key in seen:
        chain = " -> ".join(p.name for p in (*seen, key))
        raise ProfileError(f"profile 'extends' loops: {chain}")
    if len(seen) >= MAX_EXTENDS:
        raise ProfileError(f"profile {str(path)!r}: extends more than {MAX_EXTENDS} profiles deep")
    document = reading.load(path)
    data, lines = document.data, document.lines
    if "extends" in data:
        base, _ = _raw(_parent_path(data.pop("extends"), path), (*seen, key))
        base.pop("name", None)  # a child is its own profile, whatever it extends
        data = {**base, **data}
    data.setdefault("name", path.stem)
    return data, lines


def load_profile(name_or_path: str = DEFAULT_PROFILE) -> Profile:
    """A built-in profile by name, or a YAML file by path."""
    if not name_or_path or "\x00" in name_or_path:
        raise ProfileError("a profile is a built-in name or the path of a YAML file")
    path = _builtin(name_or_path) if _is_builtin_name(name_or_path) else Path(name_or_path)
    data, lines = _raw(path)
    return _validate(data, source=f"profile {str(path)!r}", lines=lines)


def list_profiles() -> list[Profile]:
    return [load_profile(name) for name in builtin_names()]
