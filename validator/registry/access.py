"""The registry options of one run (--registry, --username, --password-stdin, --ca-cert,
--insecure-registry) turned into a RegistryAccess, before any work starts.

This is the edge where the password is read: from standard input (a prompt without echo
on a terminal), the environment, or Docker's stored logins.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from validator.errors import CredentialsError
from validator.reference import ImageRef
from validator.registry import credentials
from validator.registry.client import RegistryAccess, check_same_registry, parse_registry_url
from validator.registry.credentials import Credentials, Secret


def read_stdin_password(host: str, username: str, stdin: TextIO | None = None) -> Secret:
    """The password piped to us, or typed at a prompt that does not echo it."""
    stdin = stdin or sys.stdin
    if stdin.isatty():
        return credentials.read_password(
            getpass.getpass(f"Password or token for {username} at {host}: "),
            source="the prompt",
        )
    return credentials.read_password(stdin.read(), source="--password-stdin")


def registry_access(
    typed: Sequence[str],
    refs: Sequence[ImageRef],
    *,
    registry_url: str | None = None,
    username: str | None = None,
    password_stdin: bool = False,
    ca_cert: Path | None = None,
    insecure: Sequence[str] = (),
    stdin: TextIO | None = None,
) -> RegistryAccess:
    """Check the options against the images and gather one login per registry."""
    address = parse_registry_url(registry_url) if registry_url else None
    if address is not None:
        for text, ref in zip(typed, refs, strict=True):
            check_same_registry(ref, address, text)
    hosts = list(dict.fromkeys(ref.registry for ref in refs))
    login_host = address.host if address is not None else None
    if login_host is None and (username or password_stdin):
        if len(hosts) > 1:
            raise CredentialsError(
                "--username applies to one registry, and the images are on several: "
                + ", ".join(hosts),
                hint="add --registry URL to say which one the login is for",
            )
        login_host = hosts[0] if hosts else None
    if password_stdin and not username:
        raise CredentialsError(
            "--password-stdin needs --username", hint="add --username NAME for the registry"
        )
    logins: list[Credentials] = []
    for host in hosts:
        if host == login_host:
            piped = read_stdin_password(host, username or "", stdin) if password_stdin else None
            found = credentials.resolve(host, username=username, stdin_password=piped)
        else:
            found = credentials.from_docker_config(host)
        if found is not None:
            logins.append(found)
    return RegistryAccess(
        logins=tuple(logins),
        address=address,
        ca_cert=ca_cert,
        insecure=frozenset(insecure),
    )
