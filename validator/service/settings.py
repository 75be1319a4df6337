"""The service's settings: each declared once, in :class:`Settings`, read from the environment.

Every field is the variable ``JHIV_SERVICE_<NAME>``. Secrets (the admin token, the
webhook tokens, the encryption keys, a database URL with a password) may instead come
from the file named by ``JHIV_SERVICE_<NAME>_FILE``, never from a command-line argument,
which every user of the machine can read in ``ps``. The ``serve --help`` epilog and the
table in docs/service.md are rendered from the model (:func:`settings_help`,
:func:`settings_table`), so they cannot drift from it.

The loader is our own small walk over ``model_fields`` rather than pydantic-settings:
pydantic-settings reads secrets from files *named after the field* in one directory,
not from a path given in ``<NAME>_FILE``, and it cannot refuse a variable set both ways.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)
from pydantic.fields import FieldInfo

from validator.cache import APP_DIR
from validator.registry.credentials import Secret
from validator.service.errors import SettingsError
from validator.service.secretbox import parse_keys

PREFIX = "JHIV_SERVICE_"


def _as_secret(value: object) -> object:
    return Secret(value) if isinstance(value, str) else value


def _as_keys(value: object) -> object:
    if isinstance(value, str):
        return parse_keys(value, source=f"{PREFIX}SECRET_KEYS")
    return value


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _as_networks(value: object) -> object:
    if not isinstance(value, str):
        return value
    found: list[Network] = []
    for item in value.replace(",", " ").split():
        try:
            # strict=False: "10.0.0.7/8" means the /8 it lies in, as operators write it.
            found.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"{item[:60]!r} is not an IP address or CIDR") from None
    return tuple(found)


# A secret stays wrapped from the moment it is read, so no repr or error shows it.
SecretValue = Annotated[Secret, BeforeValidator(_as_secret)]
Keys = Annotated[tuple[Secret, ...], BeforeValidator(_as_keys)]
Networks = Annotated[tuple[Network, ...], BeforeValidator(_as_networks)]


def _secret(shown_default: str | None = None, hint: str | None = None) -> dict[str, Any]:
    """The marks of a secret field (json_schema_extra): readable from a file, never quoted."""
    extra: dict[str, Any] = {"secret": True}
    if shown_default is not None:
        extra["shown_default"] = shown_default
    if hint is not None:
        extra["hint"] = hint
    return extra


class Settings(BaseModel):
    """Every setting of ``validate-image-service``, with its default and meaning."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True, extra="forbid")

    database_url: SecretValue = Field(
        default=Secret("sqlite://"),
        description="SQLAlchemy URL of the store; `postgresql+psycopg://user@host/db` in "
        "production (the driver comes with `.[service]`).",
        json_schema_extra=_secret(
            shown_default="sqlite:///$XDG_DATA_HOME/jupyterhub-image-validator/service.sqlite3"
        ),
    )
    admin_token: SecretValue = Field(
        description="`Authorization: Bearer` token of the admin API (watches; results "
        "unless public).",
        json_schema_extra=_secret(
            hint="e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
        ),
    )
    secret_keys: Keys = Field(
        default=(),
        description="Fernet keys, comma- or line-separated; the first encrypts. Without one, "
        "watches cannot store registry passwords or callback secrets.",
        json_schema_extra=_secret(),
    )
    hook_token: SecretValue | None = Field(
        default=None,
        description="Token registries send in `Authorization` (distribution, GitLab, "
        "Harbor). Unset: those receivers are off.",
        json_schema_extra=_secret(),
    )
    github_secret: SecretValue | None = Field(
        default=None,
        description="Secret of the GitHub webhook (HMAC of `X-Hub-Signature-256`). Unset: "
        "the GitHub receiver is off.",
        json_schema_extra=_secret(),
    )
    url_token: SecretValue | None = Field(
        default=None,
        description="Token in the webhook URL of Docker Hub and Quay, which sign nothing. "
        "Unset: those receivers are off.",
        json_schema_extra=_secret(),
    )
    concurrency: int = Field(
        default=2,
        ge=1,
        le=64,
        description="Validations at once in `serve` (each runs containers); the Celery engine "
        "uses `WORKER_CONCURRENCY` per worker instead.",
    )
    max_body: int = Field(
        default=1_048_576,
        ge=0,
        le=64 * 1_048_576,
        description="Largest request body in bytes (HTTP 413 beyond).",
    )
    rate: float = Field(
        default=20.0,
        ge=0,
        le=1_000_000,
        allow_inf_nan=False,
        description="Webhook requests per second per source address (0: no limit; 429 beyond).",
    )
    burst: int = Field(
        default=200, ge=1, le=1_000_000, description="Webhook requests a source may send at once."
    )
    trusted_proxies: Networks = Field(
        default=(),
        description="Addresses or CIDRs of reverse proxies whose `X-Forwarded-For` is "
        "believed (comma-separated); the source is then the right-most address no trusted "
        "proxy holds. Unset: the peer's own address, `X-Forwarded-For` ignored.",
    )
    max_request_jobs: int = Field(
        default=100,
        ge=1,
        le=100_000,
        description="Validations and digest look-ups one webhook request may queue (HTTP 413 "
        "beyond, nothing queued).",
    )
    max_watch_jobs: int = Field(
        default=200,
        ge=1,
        le=1_000_000,
        description="Jobs one watch may have waiting; pushes beyond are acknowledged as "
        "ignored, with the reason.",
    )
    max_attempts: int = Field(
        default=5, ge=1, le=100, description="Tries of a job that fails for a transient reason."
    )
    backoff: float = Field(
        default=5.0,
        ge=0,
        le=86_400,
        allow_inf_nan=False,
        description="Seconds before the first retry; doubles each time.",
    )
    backoff_max: float = Field(
        default=300.0,
        ge=0,
        le=86_400,
        allow_inf_nan=False,
        description="Longest wait between two tries, seconds.",
    )
    callback_queue: int = Field(
        default=1000,
        ge=1,
        le=1_000_000,
        description="Callbacks waiting for delivery at most; beyond, the oldest is dropped "
        '(counted in `jhiv_callbacks_total{outcome="dropped"}`).',
    )
    admin_failures: int = Field(
        default=10,
        ge=1,
        le=10_000,
        description="Failed admin authentications per source address in a minute before "
        "that address is locked out (HTTP 429).",
    )
    admin_lockout: float = Field(
        default=60.0,
        ge=1,
        le=86_400,
        allow_inf_nan=False,
        description="Seconds a locked-out address gets 429 from the admin API, whatever it sends.",
    )
    candidate_memory_mb: int = Field(
        default=2048,
        ge=64,
        le=1_048_576,
        description="Memory limit of each container a validation starts, MiB.",
    )
    candidate_cpus: float = Field(
        default=1.0,
        ge=0.01,
        le=256,
        allow_inf_nan=False,
        description="CPUs each container a validation starts may use.",
    )
    candidate_pids: int = Field(
        default=1024, ge=16, le=4_194_304, description="Processes each candidate container may run."
    )
    candidate_log_mb: int = Field(
        default=10,
        ge=1,
        le=1024,
        description="Size of each of a candidate's log files, MiB (the engine rotates them).",
    )
    candidate_log_files: int = Field(
        default=2,
        ge=1,
        le=16,
        description="Log files the engine keeps per candidate: its disk is at most this "
        "times `CANDIDATE_LOG_MB`.",
    )
    public_results: bool = Field(default=False, description="1: results and badges need no token.")
    public_url: str = Field(
        default="", description="The service's external URL, for links in callbacks."
    )
    hub_profile: str = Field(
        default="",
        max_length=64,
        description="The built-in profile the hub page checks with (the hub's own). Unset: "
        "users pick one from the built-in profiles. Only with the hub page (docs/jupyterhub.md).",
    )
    keep_images: bool = Field(
        default=False, description="1: keep the images pulled for validation (default: remove)."
    )
    broker_url: SecretValue | None = Field(
        default=None,
        description="Redis URL of the Celery broker (`redis://:password@host:6379/0`): "
        "validations run on `validate-image-service worker` processes, one or more per "
        "Docker host. Unset: the embedded engine, worker threads in `serve`.",
        json_schema_extra=_secret(),
    )
    worker_concurrency: int = Field(
        default=0,
        ge=0,
        le=256,
        description="Validations at once in one `worker` (0: the host's CPUs).",
    )
    worker_name: str = Field(
        default="",
        max_length=200,
        pattern=r"^[A-Za-z0-9._-]*$",
        description="A `worker`'s name and the name of its own queue (default: the host name).",
    )
    lease: float = Field(
        default=60.0,
        ge=1,
        le=3600,
        allow_inf_nan=False,
        description="Seconds a worker's claim on a job holds unless renewed (it renews every "
        "third of it while the job runs); a worker unseen this long is gone.",
    )
    reconcile: float = Field(
        default=30.0,
        ge=0.1,
        le=3600,
        allow_inf_nan=False,
        description="Seconds between two rounds of the reconciler in `serve` (Celery engine), "
        "which publishes again the jobs of lost workers and lost messages.",
    )

    @field_validator("hub_profile")
    @classmethod
    def _builtin_profile(cls, value: str) -> str:
        from validator.profiles import builtin_names  # yaml and the profile model: only if set

        if value and value not in builtin_names():
            raise ValueError(f"not a built-in profile; one of {', '.join(builtin_names())}")
        return value


def env_name(name: str) -> str:
    return PREFIX + name.upper()


def is_secret(field: FieldInfo) -> bool:
    extra = field.json_schema_extra
    return isinstance(extra, dict) and extra.get("secret") is True


def _extra(field: FieldInfo, key: str) -> str | None:
    extra = field.json_schema_extra
    value = extra.get(key) if isinstance(extra, dict) else None
    return value if isinstance(value, str) else None


def shown_default(field: FieldInfo) -> str:
    """The default as an operator writes it: ``1``/``0`` for flags, ``none`` for unset."""
    if field.is_required():
        return "required"
    shown = _extra(field, "shown_default")
    if shown is not None:
        return shown
    default = field.default
    if isinstance(default, bool):
        return "1" if default else "0"
    if isinstance(default, float) and default.is_integer():
        return str(int(default))
    if default in (None, "", ()):
        return "none"
    return str(default)


def meaning(field: FieldInfo) -> str:
    """The description, with the bounds the loader enforces."""
    text = field.description or ""
    for bound in field.metadata:  # ge= becomes an annotated_types.Ge here
        if (least := getattr(bound, "ge", None)) is not None:
            text += f" At least {least:g}."
        if (most := getattr(bound, "le", None)) is not None:
            text += f" At most {most:,}."
    if field.annotation is float:
        text += " A finite number."
    return text


def default_database_url(environ: Mapping[str, str]) -> str:
    base = environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return f"sqlite:///{Path(base) / APP_DIR / 'service.sqlite3'}"


def _raw(
    environ: Mapping[str, str], name: str, field: FieldInfo, read: Callable[[Path], str]
) -> str | None:
    env = env_name(name)
    value = environ.get(env, "").strip()
    path = environ.get(f"{env}_FILE", "") if is_secret(field) else ""
    if value and path:
        raise SettingsError(f"both {env} and {env}_FILE are set", hint="keep one of them")
    if path:
        try:
            value = read(Path(path)).strip()
        except OSError as exc:
            raise SettingsError(f"cannot read {env}_FILE {path!r}: {exc.strerror}") from None
    return value or None


def _one_line(exc: ValidationError) -> SettingsError:
    problems = []
    for error in exc.errors():
        env = env_name(str(error["loc"][0])) if error["loc"] else PREFIX
        # Never quote a secret's value, only the name of the variable that holds it.
        field = Settings.model_fields.get(str(error["loc"][0])) if error["loc"] else None
        shown = repr(error["input"])
        shown = shown if len(shown) <= 42 else shown[:40] + "..."
        got = "" if field is None or is_secret(field) else f", got {shown}"
        problems.append(f"{env}: {error['msg'][0].lower()}{error['msg'][1:]}{got}")
    return SettingsError("; ".join(problems))


def load_settings(
    environ: Mapping[str, str] | None = None,
    read: Callable[[Path], str] = lambda p: p.read_text(encoding="utf-8"),
) -> Settings:
    """Settings from ``environ`` (default: the process environment); an empty value is unset."""
    environ = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for name, field in Settings.model_fields.items():
        raw = _raw(environ, name, field, read)
        if raw is None and field.is_required():
            env = env_name(name)
            raise SettingsError(
                f"{env} is not set: set {env} or {env}_FILE", hint=_extra(field, "hint")
            )
        if raw is not None:
            values[name] = raw
    values.setdefault("database_url", default_database_url(environ))
    if isinstance(url := values.get("public_url"), str):
        values["public_url"] = url.rstrip("/")
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        raise _one_line(exc) from None


def settings_help() -> str:
    """The ``serve --help`` epilog: every variable, its default and its meaning."""
    # \b keeps click from re-wrapping the list into one paragraph.
    lines = ["Settings (environment; secrets also as NAME_FILE):", "", "\b"]
    for name, field in Settings.model_fields.items():
        secret = " (secret)" if is_secret(field) else ""
        lines.append(f"{env_name(name)}{secret} [default: {shown_default(field)}]")
        lines.append(f"    {meaning(field).replace('`', '')}")
    return "\n".join(lines)


def settings_table() -> str:
    """The Markdown table of docs/service.md."""
    lines = ["| Setting (`JHIV_SERVICE_...`) | Default | Meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        secret = " (secret)" if is_secret(field) else ""
        default = shown_default(field)
        default = default if default in ("required", "none") else f"`{default}`"
        lines.append(f"| `{name.upper()}`{secret} | {default} | {meaning(field)} |")
    return "\n".join(lines)
