"""The hook's decisions, with its real HTTP client against a scripted stand-in of the
service on loopback (the real service and a real hub: tests/referee/test_hubguard.py)."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.support.http_server import serving
from tests.support.registry import free_port
from validator.hubguard import ImageRefused, chosen_image, guard, options_login
from validator.hubguard.hook import Guard

TOKEN = "adm-" + "5e" * 16
PASSWORD = "pw-" + "4d" * 12
ID = "od-" + "a" * 32
INCOMPATIBLE = {
    "id": ID,
    "status": "done",
    "verdict": "incompatible",
    "report": {
        "profile": "dockerspawner",
        "findings": [
            {"id": "singleuser-installed", "title": "jupyterhub-singleuser is installed",
             "status": "fail", "message": "not found (exit 127)",
             "fix": "RUN pip install 'jupyterhub==5.4.6'"},
        ],
    },
}  # fmt: skip


@dataclass
class Script:
    """What the stand-in answers, and what it was sent."""

    answers: list[dict[str, Any]] = field(default_factory=list)  # GET answers, in turn
    hang_s: float = 0.0  # each GET waits this long first
    seen: list[tuple[str, dict[str, str], Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def handler_for(script: Script) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, code: int, document: dict[str, Any]) -> None:
            body = json.dumps(document).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with script.lock:
                script.seen.append(
                    (self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
            self._send(202, {"id": ID, "status": "queued"})

        def do_GET(self) -> None:
            with script.lock:
                script.seen.append(
                    (self.path, {k.lower(): v for k, v in self.headers.items()}, None)
                )
                answer = script.answers.pop(0) if len(script.answers) > 1 else script.answers[0]
            time.sleep(script.hang_s)
            self._send(200, answer)

    return Handler


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")
    return path


def spawner(image: str = "r.example.org/lab/nb:v1", **options: Any) -> SimpleNamespace:
    return SimpleNamespace(
        user_options={"image": image, **options},
        image="quay.io/jupyter/base-notebook",
        user=SimpleNamespace(name="ada@login.example.org"),
        log=logging.getLogger("test.hubguard"),
    )


@pytest.fixture
def service() -> Iterator[tuple[Script, str]]:
    script = Script()
    with serving(handler_for(script)) as address:
        yield script, f"http://{address}"


def run(hook: Guard, target: Any) -> None:
    asyncio.run(hook(target))


def test_an_incompatible_image_is_refused_with_the_reason_and_no_token(
    service: tuple[Script, str], token_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    script, url = service
    script.answers = [{"id": ID, "status": "running"}, INCOMPATIBLE]
    hook = guard(url, str(token_file), page_url="https://hub/services/jhiv/",
                 mount_path="/home/jovyan/work", budget=10)  # fmt: skip
    with pytest.raises(ImageRefused) as refused:
        run(hook, spawner(username="ada", password=PASSWORD))
    text, page = refused.value.jupyterhub_message, refused.value.jupyterhub_html_message
    assert "jupyterhub-singleuser is installed: not found (exit 127)" in text
    assert "RUN pip install 'jupyterhub==5.4.6'" in text
    assert f"Report: https://hub/services/jhiv/checks/{ID}" in text
    assert f'href="https://hub/services/jhiv/checks/{ID}"' in page
    assert refused.value.status_code == 400
    path, headers, body = script.seen[0]
    assert path == "/api/v1/validations"
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert headers["x-jhiv-user"] == "ada@login.example.org"
    # The form's login stays put: no credentials source was configured.
    assert body == {"image": "r.example.org/lab/nb:v1", "profile": "dockerspawner",
                    "mount_path": "/home/jovyan/work"}  # fmt: skip
    assert [p for p, _, _ in script.seen[1:]] == [f"/api/v1/validations/{ID}"] * 2
    for shown in (text, page, str(refused.value), caplog.text):
        assert TOKEN not in shown and PASSWORD not in shown


def test_a_compatible_image_spawns_and_a_login_is_passed_only_when_configured(
    service: tuple[Script, str], token_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    script, url = service
    script.answers = [{**INCOMPATIBLE, "verdict": "compatible"}]
    hook = guard(url, str(token_file), credentials=options_login(registry="host"))
    run(hook, spawner(username="ada", password=PASSWORD, host="r.example.org"))
    body = script.seen[0][2]
    assert (body["username"], body["password"], body["registry"]) == (
        "ada",
        PASSWORD,
        "r.example.org",
    )
    assert "is compatible" in caplog.text
    assert PASSWORD not in caplog.text and TOKEN not in caplog.text


@pytest.mark.parametrize(
    "answer",
    [
        {"id": ID, "status": "failed", "error": "registry r.example.org refused the login"},
        {"id": ID, "status": "done", "verdict": "error", "report": {"findings": []}},
    ],
)
def test_no_verdict_lets_the_spawn_go_ahead(
    service: tuple[Script, str],
    token_file: Path,
    caplog: pytest.LogCaptureFixture,
    answer: dict[str, Any],
) -> None:
    script, url = service
    script.answers = [answer]
    run(guard(url, str(token_file)), spawner())
    assert "the spawn goes ahead" in caplog.text and ID in caplog.text


def test_a_slow_service_costs_the_budget_not_the_spawn(
    service: tuple[Script, str], token_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    script, url = service
    script.answers, script.hang_s = [{"id": ID, "status": "running"}], 8.0
    started = time.monotonic()
    run(guard(url, str(token_file), budget=0.5), spawner())
    # Not blocked until the service answers (8 s); bounded by the budget, give or take.
    assert time.monotonic() - started < 6
    assert "no verdict within 0.5 s" in caplog.text


def test_an_unreachable_service_or_a_missing_token_lets_the_spawn_go_ahead(
    token_file: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    run(guard(closed, str(token_file), budget=2), spawner())
    assert "cannot reach the service" in caplog.text
    caplog.clear()
    run(guard(closed, str(tmp_path / "absent")), spawner())
    assert "cannot read the service token" in caplog.text
    assert TOKEN not in caplog.text


def test_the_chosen_image() -> None:
    assert chosen_image(spawner("  r.example.org/a:1 ")) == "r.example.org/a:1"
    assert chosen_image(spawner("")) == "quay.io/jupyter/base-notebook"
    aliased = spawner("Lab")
    aliased.allowed_images = {"Lab": "r.example.org/lab:2"}
    assert chosen_image(aliased) == "r.example.org/lab:2"
    computed = spawner("Lab")
    computed.allowed_images = lambda s: {"Lab": "r.example.org/lab:3"}
    assert chosen_image(computed) == "r.example.org/lab:3"
    assert chosen_image(SimpleNamespace(user_options={}, image="")) is None


def test_the_hook_imports_nothing_heavy() -> None:
    """The hub imports the hook at start: none of the service's or validator's stack."""
    code = (
        "import sys, validator.hubguard; "
        "print(','.join(m for m in ('pydantic', 'docker', 'fastapi', 'sqlalchemy', "
        "'requests', 'yaml', 'cryptography', 'validator.profiles') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == ""
