"""Validation on demand and stored configurations, through the real ASGI app with the
validator replaced by the fake runner (as test_app.py does): ownership, the login's
life (encrypted until the job ends, then gone), and no secret in a response, a log
line or the database file."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support import service as w
from validator.errors import RegistryAuthError
from validator.findings import Status

TOKEN = "tok-" + "7e" * 12
PASSWORD = "pw-" + "8f" * 12
IMAGE = "registry.example.org/lab/nb:v1"


service = w.serving


def headers(user: str | None = None) -> dict[str, str]:
    found = w.admin_headers()
    if user is not None:
        found["X-JHIV-User"] = user
    return found


def wait_done(client: TestClient, url: str, user: str | None = None) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def done() -> bool:
        seen.update(client.get(url, headers=headers(user)).json())
        return seen.get("status") in ("done", "failed")

    w.wait_for(done, what=f"{url} to end")
    return seen


def database_text(tmp_path: Path) -> str:
    """Every byte of the database and its WAL, as text: what an attacker with the file reads."""
    found = b""
    for path in tmp_path.glob("service.sqlite3*"):
        found += path.read_bytes()
    return found.decode("latin-1")


def rows(tmp_path: Path, table: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(tmp_path / "service.sqlite3") as db:
        return list(db.execute(f"SELECT * FROM {table}"))


def test_validation_on_demand_answers_202_and_the_login_is_gone_after_the_job(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    runner = w.FakeRunner(delay_s=0.3)
    with service(tmp_path, runner) as (client, _, _):
        response = client.post(
            "/api/v1/validations",
            json={"image": IMAGE, "profile": "dockerspawner", "username": "bot",
                  "password": PASSWORD, "hub_version": "5.3.0", "mount_path": "/home/jovyan/work"},
            headers=headers(),
        )  # fmt: skip
        assert response.status_code == 202, response.text
        url = response.headers["Location"]
        assert url == response.json()["links"]["self"] and url.startswith("/api/v1/validations/od-")
        # While it runs, the login waits encrypted: the ciphertext is there, the text is not.
        assert len(rows(tmp_path, "request_secrets")) == 1
        assert PASSWORD not in database_text(tmp_path)
        result = wait_done(client, url)
        assert result["status"] == "done" and result["verdict"] == "compatible"
        assert result["report"]["hub_version"] == "5.3.0"
        assert result["digest"] == w.digest_of(IMAGE)
        assert rows(tmp_path, "request_secrets") == []
        everything = response.text + client.get(url, headers=headers()).text
    login = runner.accesses[-1].credentials_for("registry.example.org")
    assert login is not None and login.password.reveal() == PASSWORD
    assert PASSWORD not in everything and PASSWORD not in caplog.text
    assert PASSWORD not in database_text(tmp_path)


def test_every_form_of_image_is_accepted_and_credentials_in_it_refused(tmp_path: Path) -> None:
    with service(tmp_path, worker=False) as (client, _, _):
        for typed, canonical in (
            ("jupyter/base-notebook", "docker.io/jupyter/base-notebook:latest"),
            ("https://registry.example.org/lab/nb:v1", IMAGE),
            (f"{IMAGE.split(':v1')[0]}@{w.DIGEST_A}", f"registry.example.org/lab/nb@{w.DIGEST_A}"),
        ):
            response = client.post("/api/v1/validations", json={"image": typed}, headers=headers())
            assert response.status_code == 202, response.text
            assert response.json()["image"] == canonical
        refused = client.post(
            "/api/v1/validations",
            json={"image": f"bot:{PASSWORD}@registry.example.org/lab/nb"},
            headers=headers(),
        )
        assert refused.status_code == 422 and PASSWORD not in refused.text
        assert "user name or token" in refused.text
        for bad in ({"image": IMAGE, "password": PASSWORD}, {"image": IMAGE, "profile": "nope"},
                    {"image": IMAGE, "hub_version": "five"}, {"image": ""}):  # fmt: skip
            answer = client.post("/api/v1/validations", json=bad, headers=headers())
            assert answer.status_code == 422, bad
            assert PASSWORD not in answer.text


def test_authentication_is_the_admin_apis(tmp_path: Path) -> None:
    with service(tmp_path, worker=False) as (client, _, _):
        assert client.post("/api/v1/validations", json={"image": IMAGE}).status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        assert client.get("/api/v1/configurations", headers=wrong).status_code == 403


def test_a_failed_pull_is_recorded_without_the_password(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    runner = w.FakeRunner()
    runner.failures[f"{IMAGE}"] = [RegistryAuthError(f"denied for bot:{PASSWORD}")]
    with service(tmp_path, runner) as (client, _, _):
        response = client.post(
            "/api/v1/validations",
            json={"image": IMAGE, "username": "bot", "password": PASSWORD},
            headers=headers(),
        )
        result = wait_done(client, response.headers["Location"])
        assert result["status"] == "failed" and result["error"]
        assert PASSWORD not in str(result)
        assert rows(tmp_path, "request_secrets") == []
    assert PASSWORD not in caplog.text and PASSWORD not in database_text(tmp_path)


def test_configurations_belong_to_their_caller_and_take_their_token_along(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    runner = w.FakeRunner()
    runner.verdicts[w.digest_of(IMAGE)] = Status.FAIL
    with service(tmp_path, runner) as (client, _, _):
        made = client.post(
            "/api/v1/configurations",
            json={"image": IMAGE, "registry": "https://registry.example.org", "username": "ada",
                  "token": TOKEN, "mount_path": "/home/jovyan/data"},
            headers=headers("ada"),
        )  # fmt: skip
        assert made.status_code == 201, made.text
        config = made.json()
        assert config["has_token"] is True and "token" not in config
        assert config["registry"] == "registry.example.org"
        own = config["links"]["self"]
        listed = client.get("/api/v1/configurations", headers=headers("ada")).json()
        assert [c["id"] for c in listed] == [config["id"]]
        # Another caller: nothing listed, and every id of ada's a 404.
        assert client.get("/api/v1/configurations", headers=headers("bob")).json() == []
        assert client.get("/api/v1/configurations", headers=headers()).json() == []
        for method in ("get", "delete"):
            assert getattr(client, method)(own, headers=headers("bob")).status_code == 404
        assert client.post(f"{own}/validations", headers=headers("bob")).status_code == 404

        started = client.post(config["links"]["validate"], headers=headers("ada"))
        assert started.status_code == 202, started.text
        url = started.headers["Location"]
        assert client.get(url, headers=headers("bob")).status_code == 404
        result = wait_done(client, url, "ada")
        assert result["verdict"] == "incompatible" and result["configuration_id"] == config["id"]
        login = runner.accesses[-1].credentials_for("registry.example.org")
        assert login is not None and login.password.reveal() == TOKEN
        # The job's copy is gone; the configuration's own token stays until it is deleted.
        assert rows(tmp_path, "request_secrets") == []
        assert len(rows(tmp_path, "configuration_secrets")) == 1
        ciphertext = rows(tmp_path, "configuration_secrets")[0][1]
        assert TOKEN not in database_text(tmp_path)

        responses = made.text + client.get(own, headers=headers("ada")).text + str(listed)
        assert client.delete(own, headers=headers("ada")).status_code == 204
        assert client.get(own, headers=headers("ada")).status_code == 404
        assert rows(tmp_path, "configurations") == []
        assert rows(tmp_path, "configuration_secrets") == []
        # The report stays readable by its owner.
        assert client.get(url, headers=headers("ada")).json()["verdict"] == "incompatible"
    text = database_text(tmp_path)
    assert ciphertext not in text and TOKEN not in text
    assert TOKEN not in responses and TOKEN not in caplog.text


def test_webhook_validation_ids_still_reach_their_results(tmp_path: Path) -> None:
    with service(tmp_path, worker=False) as (client, _, _):
        assert client.get("/api/v1/validations/7", headers=headers()).status_code == 404
        assert client.get("/api/v1/validations/od-zz", headers=headers()).status_code == 422
        missing = "/api/v1/validations/od-" + "0" * 32
        assert client.get(missing, headers=headers()).status_code == 404


def test_each_caller_has_a_rate_limit_of_its_own(tmp_path: Path) -> None:
    with service(tmp_path, worker=False, rate=0.001, burst=2) as (client, _, _):
        codes = [
            client.get("/api/v1/configurations", headers=headers("ada")).status_code
            for _ in range(3)
        ]
        assert codes == [200, 200, 429]
        assert client.get("/api/v1/configurations", headers=headers("bob")).status_code == 200


def test_a_request_written_before_a_stop_runs_at_the_next_start(tmp_path: Path) -> None:
    runner = w.FakeRunner()
    keys = w.settings().secret_keys  # the next start must read what this one wrote
    with service(tmp_path, runner, worker=False, secret_keys=keys) as (client, _, _):
        accepted = client.post(
            "/api/v1/validations",
            json={"image": IMAGE, "username": "bot", "password": PASSWORD},
            headers=headers(),
        )
        url = accepted.headers["Location"]
    assert runner.validated == []
    with service(tmp_path, runner, secret_keys=keys) as (client, _, _):
        assert wait_done(client, url)["verdict"] == "compatible"
    assert rows(tmp_path, "request_secrets") == []
