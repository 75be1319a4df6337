"""build-images' login: the same Credentials and stdin reader as validate-image."""

from __future__ import annotations

import io

import click
import pytest

from validator.images.cli import PASSWORD_ENV, _credentials
from validator.reference import DOCKER_HUB
from validator.registry.credentials import Secret


@pytest.mark.parametrize(
    ("prefix", "registry"),
    [("reg.example.com:5000/team", "reg.example.com:5000"), ("jhiv", DOCKER_HUB)],
)
def test_password_from_stdin_is_a_secret_for_the_prefix_registry(
    monkeypatch: pytest.MonkeyPatch, prefix: str, registry: str
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("s3cret\n"))
    login = _credentials("builder", True, True, prefix)
    assert login is not None
    assert (login.registry, login.username, login.password) == (
        registry,
        "builder",
        Secret("s3cret"),
    )
    assert "s3cret" not in repr(login)


def test_password_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "from-env")
    login = _credentials("builder", False, True, "reg.example.com/team")
    assert login is not None and login.password.reveal() == "from-env"
    assert login.source == PASSWORD_ENV


@pytest.mark.parametrize(
    ("username", "password_stdin", "push", "message"),
    [
        (None, True, True, "--password-stdin needs --username"),
        ("builder", False, False, "--username is for --push"),
        ("builder", False, True, "--username needs a password"),
        ("builder", True, True, "is empty"),
    ],
)
def test_incomplete_logins_are_usage_errors(
    monkeypatch: pytest.MonkeyPatch,
    username: str | None,
    password_stdin: bool,
    push: bool,
    message: str,
) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))
    with pytest.raises(click.UsageError) as info:
        _credentials(username, password_stdin, push, "jhiv")
    assert message in info.value.message


def test_no_username_means_docker_logins() -> None:
    assert _credentials(None, False, True, "jhiv") is None
