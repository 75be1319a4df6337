"""Credentials: where a password may come from, and the places it must never show."""

from __future__ import annotations

import base64
import io
import logging
import pickle

import pytest

from validator.choices import PASSWORD_ENV
from validator.errors import CredentialsError
from validator.reference import parse_reference
from validator.registry.access import registry_access
from validator.registry.credentials import (
    MASK,
    Credentials,
    RedactSecrets,
    Secret,
    from_docker_config,
    read_password,
    resolve,
    scrub,
)

HOST = "registry.example.com:5000"
TOKEN = "glpat-s3cr3t-t0ken"


def _config(user: str = "alice", password: str = TOKEN) -> dict[str, object]:
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"auths": {f"https://{HOST}": {"auth": auth}}}


# --- Secret -------------------------------------------------------------------------


def test_secret_never_formats_its_value() -> None:
    secret = Secret(TOKEN)
    for text in (str(secret), repr(secret), f"{secret}", f"{secret!r}", format(secret)):
        assert TOKEN not in text
        assert MASK in text
    assert secret.reveal() == TOKEN


def test_credentials_repr_hides_the_password() -> None:
    creds = Credentials(HOST, "alice", Secret(TOKEN), "--password-stdin")
    assert TOKEN not in repr(creds)
    assert TOKEN not in str(creds)
    assert creds.auth_config() == {"username": "alice", "password": TOKEN, "serveraddress": HOST}


def test_a_pickled_secret_keeps_working_but_is_not_printed() -> None:
    # Pickling is not forbidden (threads and copies need it); printing stays masked.
    copy = pickle.loads(pickle.dumps(Secret(TOKEN)))
    assert copy.reveal() == TOKEN and TOKEN not in repr(copy)


# --- reading ------------------------------------------------------------------------


@pytest.mark.parametrize("piped", [TOKEN, TOKEN + "\n", TOKEN + "\r\n"])
def test_read_password_drops_one_line_end(piped: str) -> None:
    assert read_password(piped, source="stdin").reveal() == TOKEN


def test_read_password_keeps_inner_spaces() -> None:
    assert read_password(" a b \n", source="stdin").reveal() == " a b "


def test_empty_password_is_an_error() -> None:
    with pytest.raises(CredentialsError, match="empty"):
        read_password("\n", source="--password-stdin")


# --- resolve: the order of sources --------------------------------------------------


def test_stdin_wins_over_environment_and_docker_config() -> None:
    creds = resolve(
        HOST,
        username="alice",
        stdin_password=Secret("from-stdin"),
        environ={PASSWORD_ENV: "from-env"},
        docker_config=_config(),
    )
    assert creds is not None
    assert (creds.password.reveal(), creds.source) == ("from-stdin", "--password-stdin")
    assert creds.from_user


def test_environment_needs_a_username() -> None:
    creds = resolve(HOST, username="bob", stdin_password=None, environ={PASSWORD_ENV: "env-pw"})
    assert creds is not None and creds.password.reveal() == "env-pw"
    assert creds.source == PASSWORD_ENV
    # Without --username the variable alone names nobody: Docker's login is used instead.
    found = resolve(
        HOST, username=None, stdin_password=None, environ={PASSWORD_ENV: "x"}, docker_config={}
    )
    assert found is None


def test_docker_config_login_is_found_by_host() -> None:
    creds = resolve(HOST, username=None, stdin_password=None, environ={}, docker_config=_config())
    assert creds is not None
    assert (creds.username, creds.password.reveal()) == ("alice", TOKEN)
    assert creds.source == "Docker config" and not creds.from_user


def test_docker_config_for_another_user_is_not_used() -> None:
    with pytest.raises(CredentialsError) as info:
        resolve(HOST, username="bob", stdin_password=None, environ={}, docker_config=_config())
    assert "no password for user 'bob'" in info.value.message
    assert "--password-stdin" in (info.value.hint or "")


def test_stdin_password_without_username() -> None:
    with pytest.raises(CredentialsError, match="--username"):
        resolve(HOST, username=None, stdin_password=Secret(TOKEN), environ={})


def test_from_docker_config_without_an_entry() -> None:
    assert from_docker_config("other.example.com", _config()) is None
    assert from_docker_config(HOST, {"auths": {HOST: {"identitytoken": "x"}}}) is None


# --- registry_access: the CLI edge --------------------------------------------------


def test_registry_access_reads_stdin_once_for_the_login_registry() -> None:
    refs = [parse_reference(f"https://{HOST}/team/img:v1")]
    access = registry_access(
        [f"https://{HOST}/team/img:v1"],
        refs,
        registry_url=f"https://{HOST}",
        username="alice",
        password_stdin=True,
        stdin=io.StringIO(TOKEN + "\n"),
    )
    creds = access.credentials_for(HOST)
    assert creds is not None and creds.password.reveal() == TOKEN
    assert access.secrets() == (Secret(TOKEN),)
    assert access.credentials_for("docker.io") is None


def test_registry_access_username_with_images_on_several_registries() -> None:
    typed = [f"{HOST}/a:1", "other.example.com/b:1"]
    with pytest.raises(CredentialsError, match="several"):
        registry_access(typed, [parse_reference(t) for t in typed], username="alice")


def test_password_stdin_without_username_fails_before_reading() -> None:
    stdin = io.StringIO(TOKEN)
    with pytest.raises(CredentialsError, match="--username"):
        registry_access(
            [f"{HOST}/a:1"], [parse_reference(f"{HOST}/a:1")], password_stdin=True, stdin=stdin
        )
    assert stdin.tell() == 0


# --- scrubbing ----------------------------------------------------------------------


def test_scrub_masks_every_occurrence() -> None:
    text = f"Get https://x/v2/: auth {TOKEN} failed ({TOKEN})"
    assert scrub(text, Secret(TOKEN), None) == f"Get https://x/v2/: auth {MASK} failed ({MASK})"
    assert scrub(text) == text


def test_log_filter_masks_secrets_in_messages_and_arguments() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecrets((Secret(TOKEN),)))
    logger = logging.getLogger("test.credentials.redact")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("engine said %s", f"bad token {TOKEN}")
        logger.warning(f"inline {TOKEN}")
    finally:
        logger.removeHandler(handler)
    assert TOKEN not in stream.getvalue()
    assert stream.getvalue().count(MASK) == 2
