"""The guard's settings, and where a spawn's registry login may come from.

Plain dataclasses and the standard library only: this runs inside the hub, whose
environment has none of the service's or the validator's dependencies to spare.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

# The budget a hub operator can give at most: the hub's own spawn timeouts are longer,
# but a user watching the progress page should not wait for the guard beyond this.
MAX_BUDGET_S = 300.0


@dataclass(frozen=True)
class Login:
    """A registry login for the service's pull of this one image."""

    username: str
    password: str = field(repr=False)  # never in a repr, a log line or a message
    registry: str | None = None  # the image's registry when None


# Reads the spawner (its user_options) and returns the login to pass, or None.
LoginSource = Callable[[Any], "Login | None"]
# A mount path: fixed, or read from the spawner (the form's user-data path).
MountPath = str | Callable[[Any], "str | None"] | None


@dataclass(frozen=True)
class GuardConfig:
    """How the hub's guard reaches the service and what it asks for.

    ``service_url``: the service's base URL (``http://jhiv:8000``).
    ``token_file``: a file holding the service's admin token (read at each spawn, so a
    rotated token needs no hub restart; never logged).
    ``profile``: the validator profile describing this hub (``validate-image --profile``).
    ``budget``: seconds a spawn may wait for a verdict; past it the spawn goes ahead.
    ``page_url``: the base URL of the hub page (``https://hub/services/jhiv/``); a
    refusal links to ``{page_url}checks/{id}``.
    ``mount_path``, ``hub_version``: ``validate-image --mount-path/--hub-version``.
    ``credentials``: where a login in the spawn's user_options is found; None (the
    default) passes no login, whatever the form holds.
    ``ca_file``: a CA bundle for an HTTPS service with a private CA.
    """

    service_url: str
    token_file: str
    profile: str = "dockerspawner"
    budget: float = 15.0
    page_url: str | None = None
    mount_path: MountPath = None
    hub_version: str | None = None
    credentials: LoginSource | None = None
    ca_file: str | None = None
    poll_interval: float = 1.0
    max_checks: int = 5

    def __post_init__(self) -> None:
        # A mistake here shows when the hub loads its configuration, not at a spawn.
        for name, url in (("service_url", self.service_url), ("page_url", self.page_url)):
            if url is not None and urlsplit(url).scheme not in ("http", "https"):
                raise ValueError(f"hubguard: {name} must be an http:// or https:// URL")
        if not self.token_file:
            raise ValueError("hubguard: token_file is required (a file holding the token)")
        if not 0 < self.budget <= MAX_BUDGET_S:
            raise ValueError(f"hubguard: budget must be between 0 and {MAX_BUDGET_S:.0f} seconds")
        if not self.profile:
            raise ValueError("hubguard: profile must name a validator profile")
        if self.poll_interval <= 0 or self.max_checks < 1:
            raise ValueError("hubguard: poll_interval must be > 0 and max_checks >= 1")

    @property
    def api_url(self) -> str:
        return self.service_url.rstrip("/") + "/api/v1/validations"

    def report_url(self, request_id: str) -> str | None:
        """The hub page's report of one validation, when a page is configured."""
        if self.page_url is None:
            return None
        base = self.page_url if self.page_url.endswith("/") else self.page_url + "/"
        return f"{base}checks/{request_id}"


def _options(spawner: Any) -> Mapping[str, Any]:
    options = getattr(spawner, "user_options", None)
    return options if isinstance(options, Mapping) else {}


def options_login(
    username: str = "username", password: str = "password", registry: str | None = "registry"
) -> LoginSource:
    """A login from three fields of the spawn form (their user_options keys)."""

    def read(spawner: Any) -> Login | None:
        options = _options(spawner)
        user, secret = options.get(username), options.get(password)
        host = options.get(registry) if registry else None
        if not (isinstance(user, str) and user and isinstance(secret, str) and secret):
            return None
        return Login(user, secret, host if isinstance(host, str) and host else None)

    return read


def dockerconfig_login(option: str = "dockerregistry") -> LoginSource:
    """A login from a base64 ``.dockerconfigjson`` in user_options (the shape a
    Kubernetes image pull secret holds, as Jupyter4NFDI's form hands it on)."""

    def read(spawner: Any) -> Login | None:
        value = _options(spawner).get(option)
        if not isinstance(value, str) or not value:
            return None
        return login_from_dockerconfig(value)

    return read


def login_from_dockerconfig(encoded: str) -> Login | None:
    """The first login of a base64 dockerconfigjson; None when it holds none."""
    try:
        document = json.loads(base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError):
        return None
    auths = document.get("auths") if isinstance(document, dict) else None
    if not isinstance(auths, dict):
        return None
    for host, entry in auths.items():
        if not isinstance(entry, dict):
            continue
        user, secret = entry.get("username"), entry.get("password")
        if not (user and secret) and isinstance(entry.get("auth"), str):
            try:
                user, _, secret = base64.b64decode(entry["auth"]).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                continue
        if isinstance(user, str) and user and isinstance(secret, str) and secret:
            registry = str(host).removeprefix("https://").removeprefix("http://").rstrip("/")
            return Login(user, secret, registry or None)
    return None
