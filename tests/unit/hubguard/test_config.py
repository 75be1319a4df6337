"""The guard's settings and the logins it may read from a spawn's user_options."""

from __future__ import annotations

import base64
import json
from types import SimpleNamespace
from typing import Any

import pytest

from validator.hubguard import GuardConfig, Login, dockerconfig_login, options_login
from validator.hubguard.config import login_from_dockerconfig

SECRET = "reg-" + "9a" * 12


def spawner(**options: Any) -> SimpleNamespace:
    return SimpleNamespace(user_options=options)


def test_settings_are_checked_when_the_hub_loads_them() -> None:
    for bad in ({"service_url": "jhiv:8000"}, {"budget": 0}, {"budget": 301},
                {"token_file": ""}, {"page_url": "hub/services/x"}, {"profile": ""}):  # fmt: skip
        fields: dict[str, Any] = {"service_url": "http://jhiv:8000", "token_file": "/run/t", **bad}
        with pytest.raises(ValueError, match="hubguard"):
            GuardConfig(**fields)


def test_urls() -> None:
    config = GuardConfig("http://jhiv:8000/", "/run/t", page_url="https://hub/services/jhiv")
    assert config.api_url == "http://jhiv:8000/api/v1/validations"
    assert config.report_url("od-1") == "https://hub/services/jhiv/checks/od-1"
    assert GuardConfig("http://jhiv:8000", "/run/t").report_url("od-1") is None


def test_a_login_from_form_fields() -> None:
    read = options_login("user", "token", "host")
    assert read(spawner(user="ada", token=SECRET, host="r.example.org")) == Login(
        "ada", SECRET, "r.example.org"
    )
    assert read(spawner(user="ada")) is None
    assert read(spawner(user="ada", token="")) is None
    assert read(SimpleNamespace()) is None
    assert SECRET not in repr(read(spawner(user="ada", token=SECRET)))


def test_a_login_from_a_dockerconfigjson() -> None:
    auth = base64.b64encode(f"ada:{SECRET}".encode()).decode()
    config = {"auths": {"https://r.example.org:5000/": {"auth": auth}}}
    encoded = base64.b64encode(json.dumps(config).encode()).decode()
    assert dockerconfig_login()(spawner(dockerregistry=encoded)) == Login(
        "ada", SECRET, "r.example.org:5000"
    )
    plain = {"auths": {"r.example.org": {"username": "bob", "password": SECRET}}}
    assert login_from_dockerconfig(base64.b64encode(json.dumps(plain).encode()).decode()) == Login(
        "bob", SECRET, "r.example.org"
    )
    for junk in ("not base64!", base64.b64encode(b"[1]").decode(), ""):
        assert login_from_dockerconfig(junk) is None
    assert dockerconfig_login()(spawner()) is None
