"""The Settings model is the one declaration: loader, ``serve --help`` and docs follow it."""

from __future__ import annotations

from pathlib import Path

import pytest

from validator.service.doc import current_block, render_block
from validator.service.errors import SecretKeyError, SettingsError
from validator.service.settings import PREFIX, Settings, load_settings, settings_help

DOC = Path(__file__).resolve().parents[3] / "docs" / "service.md"
ADMIN = {"JHIV_SERVICE_ADMIN_TOKEN": "adm"}


def test_docs_settings_table_is_generated_from_the_model() -> None:
    assert current_block(DOC.read_text()) == render_block(), (
        "run: python -m validator.service.doc docs/service.md"
    )


def test_help_epilog_names_every_setting() -> None:
    text = settings_help()
    for name in Settings.model_fields:
        assert f"{PREFIX}{name.upper()}" in text
    assert f"{PREFIX}ADMIN_TOKEN (secret) [default: required]" in text
    assert f"{PREFIX}CONCURRENCY [default: 2]" in text


def test_defaults_and_conversions() -> None:
    settings = load_settings(
        {
            **ADMIN,
            "JHIV_SERVICE_RATE": "2.5",
            "JHIV_SERVICE_PUBLIC_RESULTS": "1",
            "JHIV_SERVICE_PUBLIC_URL": "https://jhiv.example.org/",
            "JHIV_SERVICE_KEEP_IMAGES": "",
        }
    )
    assert settings.rate == 2.5 and settings.public_results is True
    assert settings.public_url == "https://jhiv.example.org"
    assert settings.keep_images is False and settings.concurrency == 2
    assert settings.database_url.reveal().endswith("service.sqlite3")


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN", "infinity"])
def test_non_finite_numbers_are_refused_in_one_line(value: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings({**ADMIN, "JHIV_SERVICE_BACKOFF": value})
    line = info.value.one_line()
    assert "\n" not in line and line.startswith("JHIV_SERVICE_BACKOFF: ")
    assert "finite" in line


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("CONCURRENCY", "0", "greater than or equal to 1"),
        ("RATE", "-1", "greater than or equal to 0"),
        ("MAX_BODY", "1.5", "valid integer"),
        ("KEEP_IMAGES", "perhaps", "valid boolean"),
    ],
)
def test_bounds_and_types_name_the_variable(name: str, value: str, says: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings({**ADMIN, f"JHIV_SERVICE_{name}": value})
    line = info.value.one_line()
    assert line.startswith(f"JHIV_SERVICE_{name}: ") and says in line and repr(value) in line


def test_only_secrets_come_from_files(tmp_path: Path) -> None:
    (tmp_path / "n").write_text("7")
    settings = load_settings({**ADMIN, "JHIV_SERVICE_CONCURRENCY_FILE": str(tmp_path / "n")})
    assert settings.concurrency == 2


def test_a_bad_secret_is_named_but_never_quoted() -> None:
    with pytest.raises(SecretKeyError) as info:
        load_settings({**ADMIN, "JHIV_SERVICE_SECRET_KEYS": "not-a-fernet-key"})
    assert "SECRET_KEYS" in info.value.one_line()
    assert "not-a-fernet-key" not in info.value.one_line()
