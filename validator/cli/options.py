"""Options several commands share, declared once (pip's ``cli/cmdoptions.py`` idea).

Each is a decorator factory: the flag, its type and its checks are fixed here, and a
command may only reword the help where the option means something narrower for it
(``build-images --ca-cert`` trusts a CA for the builder stages, not for a registry).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from validator.choices import PLAIN_PASSWORD_HINT, PLAIN_PASSWORD_REFUSED
from validator.userfile import UnreadableFile, read_regular

F = TypeVar("F", bound=Callable[..., Any])


def _redacted(text: str) -> str:
    from validator.redact import redact_url

    return re.sub(r"[^\s'\"]+", lambda word: redact_url(word.group()), text)


class Command(click.Command):
    """A command whose usage errors hide credentials: click quotes a bad value back
    (``'https://user:token@host/img' is not a valid integer``), and an image reference
    put where a number belongs is a slip anyone makes."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            raise click.UsageError(_redacted(exc.format_message()), ctx=exc.ctx) from None


class Group(click.Group):
    """A group whose commands are ``Command``s."""

    command_class = Command


def registry(
    help: str = "Private registry the login is for (https://host[:port]).",
) -> Callable[[F], F]:
    return click.option("--registry", "registry_url", metavar="URL", help=help)


def username(help: str = "User (or token name) at the registry.") -> Callable[[F], F]:
    return click.option("--username", help=help)


def password_stdin(help: str) -> Callable[[F], F]:
    return click.option("--password-stdin", is_flag=True, help=help)


def _refuse_password(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:
        raise click.UsageError(f"{PLAIN_PASSWORD_REFUSED} (hint: {PLAIN_PASSWORD_HINT})", ctx)


def refuse_password() -> Callable[[F], F]:
    """A hidden ``--password`` that explains why it is refused, instead of "no such option"."""
    return click.option(
        "--password",
        hidden=True,
        expose_value=False,
        is_eager=True,
        callback=_refuse_password,
        help="Refused: use --password-stdin.",
    )


def pull_and_login() -> Callable[[F], F]:
    """``--pull`` and the registry login, worded the same for every command that pulls."""
    # Imported here: validator.options is light, but only commands that pull need it.
    from validator.choices import PASSWORD_ENV
    from validator.options import PULL_POLICIES, describe

    decorators = [
        click.option(
            "--pull",
            type=click.Choice(PULL_POLICIES),
            default="missing",
            show_default=True,
            help=describe("pull"),
        ),
        registry(
            "Private registry the login is for (https://host[:port]); the IMAGE must name it too."
        ),
        username(),
        password_stdin(
            f"Read the password or access token from standard input (else ${PASSWORD_ENV}, "
            "else Docker's stored login)."
        ),
        refuse_password(),
    ]

    def apply(f: F) -> F:
        for decorator in reversed(decorators):
            f = decorator(f)
        return f

    return apply


def wheelhouse() -> Callable[[F], F]:
    """``--wheelhouse``: offline builds, for every command that builds an image."""
    return click.option(
        "--wheelhouse",
        type=click.Path(file_okay=False, exists=True, path_type=Path),
        help="Install Python packages from these wheels only (no index).",
    )


# A CA bundle with every public root is ~220 kB; a site's own bundle is smaller still.
MAX_CA_BYTES = 4 << 20


def _pem_certificates(
    ctx: click.Context, param: click.Parameter, value: Path | None
) -> Path | None:
    # Checked when the command line is read: a FIFO, /dev/zero or a file that is no
    # certificate fails at once, not minutes later inside a pull or a docker build.
    if value is None:
        return None
    try:
        data = read_regular(value, MAX_CA_BYTES)
    except UnreadableFile as exc:
        raise click.BadParameter(f"cannot read {str(value)!r}: {exc}") from None
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise click.BadParameter(f"{str(value)!r} holds no PEM certificate (BEGIN CERTIFICATE)")
    return value


def ca_cert(
    help: str = "Trust this CA certificate (PEM) for the registry's TLS.",
) -> Callable[[F], F]:
    return click.option(
        "--ca-cert",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        callback=_pem_certificates,
        help=help,
    )


def _hosts(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    from validator.reference import HOST_RE

    for host in value:
        if not HOST_RE.match(host.strip()):
            raise click.BadParameter(f"{host!r} is not HOST or HOST:PORT (no scheme, no path)")
    return value


def insecure_registry() -> Callable[[F], F]:
    return click.option(
        "--insecure-registry",
        "insecure_registries",
        multiple=True,
        metavar="HOST",
        callback=_hosts,
        help="Allow plain HTTP and unverified TLS for HOST[:PORT] (repeatable).",
    )


def env_choice(
    choices: tuple[str, ...], default: str, help: str, dest: str = "envs"
) -> Callable[[F], F]:
    """``--env``: which Python environments (pip venv, conda) the images get."""
    return click.option(
        "--env", dest, type=click.Choice(choices), default=default, show_default=True, help=help
    )


def out_dir(default: Path, help: str) -> Callable[[F], F]:
    return click.option(
        "--out",
        type=click.Path(file_okay=False, path_type=Path),
        default=default,
        show_default=True,
        help=help,
    )


def _writable_file(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """Refuse, before any work, a report file that cannot be written: an empty name, a
    directory, a parent that is a file or not writable. (A full disk shows at the end.)"""
    if value is None:
        return None
    # click turns an empty value into "."
    if str(value).strip() in ("", ".") or value.is_dir():
        raise click.BadParameter(f"{str(value)!r} is a directory or no name at all", ctx, param)
    parent = value.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent  # the first existing ancestor: the rest will be created
    writable_parent = parent.is_dir() and os.access(parent, os.W_OK | os.X_OK)
    if not writable_parent and not (value.exists() and os.access(value, os.W_OK)):
        raise click.BadParameter(f"{str(value)!r} cannot be written here", ctx, param)
    return value


def output_file(flag: str, help: str, dest: str | None = None) -> Callable[[F], F]:
    """An optional file the command writes (its parent directories are created)."""
    names = [flag] if dest is None else [flag, dest]
    return click.option(
        *names,
        type=click.Path(dir_okay=False, path_type=Path),
        callback=_writable_file,
        help=help,
    )


if TYPE_CHECKING:  # click 8.5 made ParamType generic; 8.1 (the floor) cannot subscript it
    _FloatParam = click.ParamType[float, Any]
else:
    _FloatParam = click.ParamType


class Seconds(_FloatParam):
    """A finite number of seconds within bounds.

    ``click.FloatRange`` lets ``nan`` through (every comparison with it is false) and
    takes ``inf``; either makes a wait that never ends, so both are refused here, before
    any container starts.
    """

    name = "seconds"

    def __init__(self, low: float, high: float) -> None:
        self.low, self.high = low, high

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        if not math.isfinite(number) or not self.low <= number <= self.high:
            self.fail(f"{value!r} is not a number from {self.low:g} to {self.high:g}", param, ctx)
        return number
