"""The webhook service as a real process, and a real registry that notifies it.

The registry is ``tests.support.registry.TestRegistry`` (Debian's docker-registry), plain
HTTP on loopback; its notification endpoint is set through distribution's own
environment override of the configuration (``REGISTRY_NOTIFICATIONS_ENDPOINTS``, a YAML
value), so its config file stays what that helper writes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

import requests

from tests.support.registry import TestRegistry, free_port

SERVICE_BIN = "validate-image-service"


@dataclass
class ServiceProcess:
    """``validate-image-service serve`` on a loopback port, with secrets in its env."""

    workdir: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.workdir / "service.log"

    @property
    def database(self) -> Path:
        return self.workdir / "service.sqlite3"

    def start(self, timeout: float = 30.0) -> ServiceProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "JHIV_SERVICE_DATABASE_URL": f"sqlite:///{self.database}",
            **self.env,
        }
        # The console script, as an operator runs it; next to this Python if not on PATH.
        command = [str(Path(sys.executable).with_name(SERVICE_BIN))]
        if not Path(command[0]).exists():
            command = [sys.executable, "-m", "validator.service"]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [*command, "serve", "--port", str(self.port)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the service exited: {self.log.read_text()[-3000:]}")
            try:
                if requests.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the service did not answer within {timeout} s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def notifying_registry(workdir: Path, endpoint: str, token: str) -> TestRegistry:
    """A started plain-HTTP registry that sends its events to ``endpoint`` with the token."""
    endpoints = [
        {
            "name": "jhiv-service",
            "url": endpoint,
            "headers": {"Authorization": [f"Bearer {token}"]},
            "timeout": "5s",
            "threshold": 3,
            "backoff": "1s",
        }
    ]
    # The registry reads its environment once, at start; JSON is YAML.
    with mock.patch.dict(os.environ, {"REGISTRY_NOTIFICATIONS_ENDPOINTS": json.dumps(endpoints)}):
        return TestRegistry(workdir, password="", tls=False).start()
