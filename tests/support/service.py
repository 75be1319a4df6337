"""Helpers for the webhook service's tests: sample payloads, a fake runner (no Docker,
no registry), settings and an app with a file-backed SQLite store."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from validator import __version__
from validator.findings import Finding, Report, Status
from validator.options import Options
from validator.profiles import Profile
from validator.reference import ImageRef
from validator.registry.client import RegistryAccess
from validator.registry.credentials import Secret
from validator.service.app import create_app
from validator.service.secretbox import SecretBox, generate_key
from validator.service.settings import Settings
from validator.service.store import Store

PAYLOADS = Path(__file__).parent / "service_payloads"
ADMIN = "admin-" + "a1" * 16
HOOK = "hook-" + "b2" * 16
GITHUB = "It's a Secret to Everybody"
URL_TOKEN = "url-" + "c3" * 16
DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64
V1 = "application/vnd.docker.distribution.events.v1+json"
V2 = "application/vnd.docker.distribution.events.v2+json"


def payload(name: str) -> Any:
    return json.loads((PAYLOADS / name).read_text())


def digest_of(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def settings(**changes: Any) -> Settings:
    base = Settings(
        admin_token=Secret(ADMIN),
        secret_keys=(Secret(generate_key()),),
        hook_token=Secret(HOOK),
        github_secret=Secret(GITHUB),
        url_token=Secret(URL_TOKEN),
        concurrency=2,
        rate=0,
        max_attempts=3,
        backoff=0.05,
        backoff_max=0.2,
    )
    return base.model_copy(update=changes)


def store(path: Path, config: Settings) -> Store:
    made = Store(f"sqlite:///{path}", SecretBox(config.secret_keys))
    made.create_schema()
    return made


def admin_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN}"}


def distribution_event(
    repository: str, tag: str | None, digest: str, *, host: str = "registry.example.org",
    action: str = "push", media_type: str = "application/vnd.docker.distribution.manifest.v2+json",
) -> dict[str, Any]:  # fmt: skip
    target: dict[str, Any] = {
        "mediaType": media_type,
        "digest": digest,
        "size": 1000,
        "repository": repository,
        "url": f"https://{host}/v2/{repository}/manifests/{digest}",
    }
    if tag:
        target["tag"] = tag
    return {
        "id": digest[-8:],
        "timestamp": "2025-11-20T09:14:02Z",
        "action": action,
        "target": target,
        "request": {"id": "r", "addr": "10.0.0.1", "host": host, "method": "PUT"},
        "actor": {},
        "source": {"addr": "registry:5000"},
    }


@dataclass
class FakeRunner:
    """Answers like the real runner, instantly. ``verdicts`` maps a digest to the status
    of its one finding; ``failures`` makes the next calls for a digest raise."""

    tags: dict[str, str] = field(default_factory=dict)  # "repo:tag" -> digest
    verdicts: dict[str, Status] = field(default_factory=dict)
    failures: dict[str, list[BaseException]] = field(default_factory=dict)
    delay_s: float = 0.0
    validated: list[tuple[str, str]] = field(default_factory=list)  # (image, profile)
    resolved: list[str] = field(default_factory=list)
    accesses: list[RegistryAccess] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def resolve(self, ref: ImageRef, access: RegistryAccess, platform: str) -> str:
        with self._lock:
            self.resolved.append(ref.canonical)
            self.accesses.append(access)
            pending = self.failures.get(ref.canonical)
            if pending:
                raise pending.pop(0)
        return self.tags.get(f"{ref.repository}:{ref.tag}") or digest_of(ref.canonical)

    def validate(self, ref: ImageRef, profile: Profile, options: Options) -> Report:
        assert ref.digest is not None
        with self._lock:
            self.validated.append((ref.canonical, profile.name))
            self.accesses.append(options.registry)
            pending = self.failures.get(ref.digest)
            if pending:
                raise pending.pop(0)
        if self.delay_s:
            time.sleep(self.delay_s)
        report = Report(
            reference=ref.canonical,
            profile=profile.name,
            hub_version=profile.hub_version,
            validator_version=__version__,
            digest=ref.digest,
            started_at="2025-11-20T10:00:00+00:00",
            duration_s=self.delay_s,
        )
        status = self.verdicts.get(ref.digest, Status.PASS)
        report.add(Finding("server-starts", status, "the server answered", title="Server starts"))
        return report

    def abort(self) -> None:
        pass


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "it") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@contextmanager
def serving(
    tmp_path: Path,
    runner: FakeRunner | None = None,
    *,
    worker: bool = True,
    callback: Callable[..., bool] | None = None,
    **changes: Any,
) -> Iterator[tuple[TestClient, FakeRunner, Settings]]:
    """The app over HTTP with a file-backed store and a fake runner; ``changes`` are settings."""
    config = settings(**changes)
    runner = runner or FakeRunner()
    app = create_app(
        config,
        store(tmp_path / "service.sqlite3", config),
        runner,
        start_worker=worker,
        send_callback=callback,
        shutdown_grace=2.0,
    )
    with TestClient(app) as client:
        yield client, runner, config
