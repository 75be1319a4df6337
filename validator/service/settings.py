"""The service's settings: each declared once, read from the environment.

Secrets (the admin token, the webhook tokens, the encryption keys, a database URL with
a password) come from ``NAME`` or from a file named by ``NAME_FILE``, never from a
command-line argument, which every user of the machine can read in ``ps``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from validator.cache import APP_DIR
from validator.errors import ValidatorError
from validator.registry.credentials import Secret
from validator.service.secretbox import parse_keys

PREFIX = "JHIV_SERVICE_"


class SettingsError(ValidatorError):
    """A setting is missing or malformed."""


@dataclass(frozen=True)
class Setting:
    env: str
    help: str
    default: str = ""
    secret: bool = False


# The documentation of every setting (docs/service.md shows this table).
SETTINGS: tuple[Setting, ...] = (
    Setting("DATABASE_URL", "SQLAlchemy URL of the store; a PostgreSQL URL in production "
            "(postgresql+psycopg://user@host/db).", "sqlite:///<data dir>/service.sqlite3",
            secret=True),
    Setting("ADMIN_TOKEN", "Bearer token of the admin API (watches; results unless public). "
            "Required.", secret=True),
    Setting("SECRET_KEYS", "Fernet keys, comma- or line-separated, the first encrypts. "
            "Needed to store registry passwords and callback secrets.", secret=True),
    Setting("HOOK_TOKEN", "Token registries send in Authorization (distribution, GitLab, "
            "Harbor). Unset: those receivers are off.", secret=True),
    Setting("GITHUB_SECRET", "Secret of the GitHub webhook (X-Hub-Signature-256). Unset: "
            "the GitHub receiver is off.", secret=True),
    Setting("URL_TOKEN", "Token in the webhook URL of Docker Hub and Quay, which sign "
            "nothing. Unset: those receivers are off.", secret=True),
    Setting("CONCURRENCY", "Validations at once (each runs containers).", "2"),
    Setting("MAX_BODY", "Largest request body in bytes (HTTP 413 beyond).", "1048576"),
    Setting("RATE", "Webhook requests per second per source address (0: no limit).", "20"),
    Setting("BURST", "Webhook requests a source may send at once.", "200"),
    Setting("MAX_ATTEMPTS", "Tries of a job that fails for a transient reason.", "5"),
    Setting("BACKOFF", "Seconds before the first retry; doubles each time.", "5"),
    Setting("BACKOFF_MAX", "Longest wait between two tries, seconds.", "300"),
    Setting("PUBLIC_RESULTS", "1: results and badges need no token.", "0"),
    Setting("PUBLIC_URL", "The service's external URL, for links in callbacks."),
    Setting("KEEP_IMAGES", "1: keep the images pulled for validation (default: remove).",
            "0"),
)  # fmt: skip


def default_database_url(environ: Mapping[str, str]) -> str:
    base = environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return f"sqlite:///{Path(base) / APP_DIR / 'service.sqlite3'}"


@dataclass(frozen=True)
class Settings:
    admin_token: Secret
    database_url: Secret = field(default_factory=lambda: Secret("sqlite://"))
    secret_keys: tuple[Secret, ...] = ()
    hook_token: Secret | None = None
    github_secret: Secret | None = None
    url_token: Secret | None = None
    concurrency: int = 2
    max_body: int = 1_048_576
    rate: float = 20.0
    burst: int = 200
    max_attempts: int = 5
    backoff: float = 5.0
    backoff_max: float = 300.0
    public_results: bool = False
    public_url: str = ""
    keep_images: bool = False


def _secret(environ: Mapping[str, str], name: str, read: Callable[[Path], str]) -> Secret | None:
    env = PREFIX + name
    value = environ.get(env)
    path = environ.get(f"{env}_FILE")
    if value and path:
        raise SettingsError(f"both {env} and {env}_FILE are set", hint="keep one of them")
    if path:
        try:
            value = read(Path(path))
        except OSError as exc:
            raise SettingsError(f"cannot read {env}_FILE {path!r}: {exc.strerror}") from None
    value = (value or "").strip()
    return Secret(value) if value else None


def _number(environ: Mapping[str, str], name: str, kind: type[float] | type[int]) -> float:
    default = next(s.default for s in SETTINGS if s.env == name)
    raw = environ.get(PREFIX + name, default)
    try:
        value = kind(raw)
    except ValueError:
        raise SettingsError(f"{PREFIX}{name} must be a number, got {raw!r}") from None
    if value < 0:
        raise SettingsError(f"{PREFIX}{name} must not be negative, got {raw!r}")
    return value


def _flag(environ: Mapping[str, str], name: str) -> bool:
    return environ.get(PREFIX + name, "0").strip().lower() in ("1", "true", "yes", "on")


def load_settings(
    environ: Mapping[str, str] | None = None,
    read: Callable[[Path], str] = lambda p: p.read_text(encoding="utf-8"),
) -> Settings:
    environ = os.environ if environ is None else environ
    admin = _secret(environ, "ADMIN_TOKEN", read)
    if admin is None:
        raise SettingsError(
            f"no admin token: set {PREFIX}ADMIN_TOKEN or {PREFIX}ADMIN_TOKEN_FILE",
            hint="e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`",
        )
    keys = _secret(environ, "SECRET_KEYS", read)
    concurrency = int(_number(environ, "CONCURRENCY", int))
    if concurrency < 1:
        raise SettingsError(f"{PREFIX}CONCURRENCY must be at least 1")
    return Settings(
        admin_token=admin,
        database_url=_secret(environ, "DATABASE_URL", read)
        or Secret(default_database_url(environ)),
        secret_keys=parse_keys(keys.reveal(), source=f"{PREFIX}SECRET_KEYS") if keys else (),
        hook_token=_secret(environ, "HOOK_TOKEN", read),
        github_secret=_secret(environ, "GITHUB_SECRET", read),
        url_token=_secret(environ, "URL_TOKEN", read),
        concurrency=concurrency,
        max_body=int(_number(environ, "MAX_BODY", int)),
        rate=_number(environ, "RATE", float),
        burst=max(1, int(_number(environ, "BURST", int))),
        max_attempts=max(1, int(_number(environ, "MAX_ATTEMPTS", int))),
        backoff=_number(environ, "BACKOFF", float),
        backoff_max=_number(environ, "BACKOFF_MAX", float),
        public_results=_flag(environ, "PUBLIC_RESULTS"),
        public_url=environ.get(PREFIX + "PUBLIC_URL", "").rstrip("/"),
        keep_images=_flag(environ, "KEEP_IMAGES"),
    )
