"""``validate-image-service worker``: bad settings are one line and exit 2; no admin
token is needed (a worker answers no API request)."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

from validator.service.cli import main


def _clean(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("JHIV_SERVICE_"):
            monkeypatch.delenv(name)


def test_a_worker_without_a_broker_stops_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    _clean(monkeypatch)  # no admin token either: the broker is what it lacks
    result = CliRunner().invoke(main, ["worker"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "JHIV_SERVICE_BROKER_URL is not set" in lines[0]
    assert "ADMIN_TOKEN" not in result.output


def test_a_bad_worker_name_stops_without_quoting_the_broker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _clean(monkeypatch)
    monkeypatch.setenv("JHIV_SERVICE_BROKER_URL", "redis://:s3cret-pw@127.0.0.1:1/0")
    monkeypatch.setenv("JHIV_SERVICE_WORKER_NAME", "no spaces")
    result = CliRunner().invoke(main, ["worker"])
    assert result.exit_code == 2
    assert "JHIV_SERVICE_WORKER_NAME" in result.output
    assert "s3cret-pw" not in result.output
    assert "Traceback" not in result.output
