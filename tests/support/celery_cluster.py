"""A private Redis server and ``validate-image-service worker`` processes, for the Celery
engine's tests.

``RedisServer`` is Debian's ``redis-server`` (scripts/setup-redis.sh) on a free loopback
port, in a temporary directory, without persistence: a restart loses every message, the
worst a broker restart can do. ``WorkerProcess`` runs the console script as an operator
does, in a process group of its own, so a test can kill the worker and its pool's
processes at once, as a host that dies would.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.registry import free_port
from tests.support.service_process import SERVICE_BIN
from tests.support.skip import unavailable

REDIS_BIN = "redis-server"


def service_command() -> list[str]:
    """The console script next to this Python, or the module when it is not installed."""
    script = Path(sys.executable).with_name(SERVICE_BIN)
    return [str(script)] if script.exists() else [sys.executable, "-m", "validator.service"]


@dataclass
class RedisServer:
    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> RedisServer:
        if shutil.which(REDIS_BIN) is None:
            unavailable("redis-server is missing: run scripts/setup-redis.sh")
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = (self.workdir / "redis.log").open("ab")
        self.process = subprocess.Popen(
            [REDIS_BIN, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.workdir),
             "--save", "", "--appendonly", "no", "--protected-mode", "yes"],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        import redis

        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if client.ping():
                    return self
            except redis.RedisError:
                time.sleep(0.1)
        raise RuntimeError(f"redis-server did not answer on {self.port} within {timeout} s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def restart(self) -> None:
        """Stop and start on the same port; every message is gone (no persistence)."""
        self.stop()
        self.start()


@dataclass
class WorkerProcess:
    workdir: Path
    name: str
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        return self.workdir / f"worker-{self.name}.log"

    def start(self) -> WorkerProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.env, "JHIV_SERVICE_WORKER_NAME": self.name}
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [*service_command(), "worker"],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # its own process group: kill() takes the pool too
            )
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL to the worker and every process of its pool at once."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self, timeout: float = 30.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()  # Celery's warm shutdown: running tasks finish
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        # Pool processes a warm shutdown left behind would hold the test's containers.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
