"""Who the validator is at a private registry, and keeping that password secret.

A password reaches us on standard input (``--password-stdin``), in the environment
(``JHIV_REGISTRY_PASSWORD``) or from Docker's own ``config.json`` and credential helpers;
never as a command-line argument, which every user of the machine can read in ``ps``.
Once read it lives in a :class:`Secret`, whose ``repr`` and ``str`` say nothing, and
every message that came from elsewhere (the engine, the registry) is scrubbed of it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

import docker.auth
import docker.errors

from validator.choices import PASSWORD_ENV
from validator.errors import CredentialsError

log = logging.getLogger(__name__)

MASK = "********"


class Secret:
    """A password or token that never shows itself by accident.

    Formatting, logging and tracebacks print the mask; only :meth:`reveal`, called where
    the value goes on the wire, gives the text.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    def __str__(self) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass(frozen=True)
class Credentials:
    """A user and password for one registry host (``host[:port]``)."""

    registry: str
    username: str
    password: Secret = field(repr=False)
    # Where the password came from, for messages: "--password-stdin", "Docker config", ...
    source: str = ""

    @property
    def from_user(self) -> bool:
        """Given for this run (stdin, environment), not found in Docker's stored logins."""
        return self.source in ("--password-stdin", PASSWORD_ENV)

    def auth_config(self) -> dict[str, str]:
        """The engine API's ``auth_config`` (X-Registry-Auth): it never reaches an argv."""
        return {
            "username": self.username,
            "password": self.password.reveal(),
            "serveraddress": self.registry,
        }


def read_password(text: str, *, source: str) -> Secret:
    """The password as piped in: one trailing newline dropped (``echo`` and files add one)."""
    value = text.removesuffix("\n").removesuffix("\r")
    if not value:
        raise CredentialsError(
            f"the password from {source} is empty",
            hint="pipe the password or access token itself, e.g. `< token.txt`",
        )
    return Secret(value)


def from_docker_config(
    registry: str, config: Mapping[str, object] | None = None
) -> Credentials | None:
    """What ``docker login`` stored for ``registry`` (auths, credsStore, credHelpers).

    ``config`` is the parsed config.json; by default Docker's own lookup finds it
    ($DOCKER_CONFIG, then ~/.docker/config.json) and runs the credential helper.
    """
    try:
        auth = docker.auth.load_config(config_dict=dict(config) if config is not None else None)
        entry = auth.resolve_authconfig(registry)
    except (docker.errors.DockerException, OSError, ValueError) as exc:
        # A broken helper must not stop a public pull; the registry will say if it matters.
        log.info("Could not read Docker credentials for %s: %s", registry, type(exc).__name__)
        return None
    if not entry:
        return None
    username = entry.get("Username") or entry.get("username") or ""
    password = entry.get("Password") or entry.get("password") or ""
    if not username or not password:
        # An IdentityToken (OAuth refresh token) is for the engine's own login flow only.
        return None
    helper = auth.get_credential_store(registry)
    source = f"Docker credential helper {helper!r}" if helper else "Docker config"
    return Credentials(registry, username, Secret(password), source)


def resolve(
    registry: str,
    *,
    username: str | None,
    stdin_password: Secret | None,
    environ: Mapping[str, str] | None = None,
    docker_config: Mapping[str, object] | None = None,
) -> Credentials | None:
    """The credentials for ``registry``, from the most explicit source given.

    Order: --password-stdin, then $JHIV_REGISTRY_PASSWORD (both need --username), then
    Docker's stored login for the registry (for the same user, if one was named).
    """
    environ = os.environ if environ is None else environ
    if stdin_password is not None:
        if not username:
            raise CredentialsError(
                "--password-stdin needs --username", hint="add --username NAME for the registry"
            )
        return Credentials(registry, username, stdin_password, "--password-stdin")
    if username and environ.get(PASSWORD_ENV):
        return Credentials(
            registry,
            username,
            read_password(environ[PASSWORD_ENV], source=PASSWORD_ENV),
            PASSWORD_ENV,
        )
    stored = from_docker_config(registry, docker_config)
    if username is None:
        return stored
    if stored is not None and stored.username == username:
        return stored
    raise CredentialsError(
        f"no password for user {username!r} at registry {registry!r}",
        hint=f"pipe it to --password-stdin, set {PASSWORD_ENV}, or `docker login {registry}`",
    )


def scrub(text: str, *secrets: Secret | None) -> str:
    """``text`` with every secret replaced by the mask.

    Messages from the engine or the registry are not ours; this is the last line of
    defence before they are printed, logged or written into a report.
    """
    for secret in secrets:
        if secret:
            text = text.replace(secret.reveal(), MASK)
    return text


class RedactSecrets(logging.Filter):
    """Masks the secrets in every record a handler writes (ours and the libraries')."""

    def __init__(self, secrets: tuple[Secret, ...]) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message, *self.secrets)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def redact_logs(secrets: tuple[Secret, ...]) -> None:
    """Install RedactSecrets on the root logger's handlers."""
    if secrets:
        for handler in logging.getLogger().handlers:
            handler.addFilter(RedactSecrets(secrets))
