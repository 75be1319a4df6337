"""``validate-image-service`` ends like the other commands: one line on stderr, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from validator.service.cli import main
from validator.service.secretbox import generate_key


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No JHIV_SERVICE_* of the developer's shell leaks into these runs."""
    import os

    for name in list(os.environ):
        if name.startswith("JHIV_SERVICE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


def _run(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    result = CliRunner().invoke(main, args, env=env)
    return result.exit_code, result.stderr


def test_serve_without_an_admin_token_exits_2_in_one_line() -> None:
    code, err = _run(["serve"], {})
    assert code == 2
    assert err.splitlines() == [
        "validate-image-service: error: JHIV_SERVICE_ADMIN_TOKEN is not set: set "
        "JHIV_SERVICE_ADMIN_TOKEN or JHIV_SERVICE_ADMIN_TOKEN_FILE (hint: e.g. "
        "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
    ]


@pytest.mark.parametrize("value", ["nan", "lots", "-3"])
def test_serve_with_a_bad_number_exits_2_in_one_line(value: str) -> None:
    code, err = _run(["serve"], {"JHIV_SERVICE_ADMIN_TOKEN": "a", "JHIV_SERVICE_RATE": value})
    assert code == 2
    assert len(err.splitlines()) == 1 and "JHIV_SERVICE_RATE: " in err
    assert "Traceback" not in err


def test_rotate_keys_without_keys_exits_2() -> None:
    code, err = _run(["rotate-keys"], {"JHIV_SERVICE_ADMIN_TOKEN": "a"})
    assert code == 2 and err.startswith("validate-image-service: error: no keys:")


def test_rotate_keys_with_a_key_and_an_empty_store(tmp_path: Path) -> None:
    env = {
        "JHIV_SERVICE_ADMIN_TOKEN": "a",
        "JHIV_SERVICE_SECRET_KEYS": generate_key(),
        "JHIV_SERVICE_DATABASE_URL": f"sqlite:///{tmp_path / 'store.sqlite3'}",
    }
    code, err = _run(["rotate-keys"], env)
    assert code == 0 and "re-encrypted 0 secrets" in err


def test_serve_help_lists_the_settings() -> None:
    result = CliRunner().invoke(main, ["serve", "--help"])
    assert result.exit_code == 0
    assert "JHIV_SERVICE_BACKOFF_MAX [default: 300]" in result.output


@pytest.mark.parametrize("name", ["RATE", "BACKOFF", "ADMIN_LOCKOUT", "CALLBACK_QUEUE"])
@pytest.mark.parametrize("value", ["nan", "inf", "1e308", "9" * 5000, "-5"])
def test_out_of_range_settings_exit_2_in_one_line(name: str, value: str) -> None:
    code, err = _run(["serve"], {"JHIV_SERVICE_ADMIN_TOKEN": "a", f"JHIV_SERVICE_{name}": value})
    assert code == 2, err
    assert len(err.splitlines()) == 1 and f"JHIV_SERVICE_{name}: " in err
    assert "Traceback" not in err and len(err) < 400


def test_serve_in_a_hub_without_jupyterhub_installed_exits_2_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    # None in sys.modules makes `import jupyterhub...` raise ImportError, as if absent.
    for name in ("jupyterhub", "jupyterhub.services", "jupyterhub.services.auth"):
        monkeypatch.setitem(sys.modules, name, None)
    hub = {
        "JUPYTERHUB_API_TOKEN": "service-token",
        "JUPYTERHUB_CLIENT_ID": "service-image-check",
        "JUPYTERHUB_SERVICE_PREFIX": "/services/image-check/",
    }
    code, err = _run(["serve"], {"JHIV_SERVICE_ADMIN_TOKEN": "a", **hub})
    assert code == 2
    assert len(err.splitlines()) == 1 and "jupyterhub is not installed" in err
    assert "[service,hub]" in err and "service-token" not in err


def test_serve_rejects_a_hub_profile_that_is_not_built_in() -> None:
    code, err = _run(["serve"], {"JHIV_SERVICE_ADMIN_TOKEN": "a", "JHIV_SERVICE_HUB_PROFILE": "x"})
    assert code == 2
    assert len(err.splitlines()) == 1 and "JHIV_SERVICE_HUB_PROFILE" in err
