"""Runs the referee's cases ahead of the tests that assert on them.

A case is one image under one hub configuration: a spawn on the real hub and a run
of the validator under the matching profile. Nearly all of a case is waiting (for
the server to start, for the stability window to pass), so the cases the session
selected are started in a few worker threads as soon as the first one is asked
for, and each test only collects its own. One hub per configuration serves every
case of that configuration; spawns of different users run side by side on it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import docker

from tests.support.cli import CliResult, run_cli

from .hub import CONFIGS, HubConfig, HubOutcome, RealHub

__all__ = ["CaseKey", "CasePool", "config_named"]


@dataclass(frozen=True)
class CaseKey:
    image: str
    """The test image's tag."""
    config: str
    """A ``HubConfig.name``."""


def config_named(name: str) -> HubConfig:
    return next(c for c in CONFIGS if c.name == name)


class CasePool:
    """Hub spawns and validator runs of the session's cases, started ahead of their tests."""

    def __init__(
        self,
        venv: Path,
        docker_client: docker.DockerClient,
        *,
        workers: int,
        stable_window: float,
    ) -> None:
        self._venv = venv
        self._docker = docker_client
        self._stable_window = stable_window
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="referee")
        self._lock = threading.Lock()
        self._hubs: dict[str, RealHub] = {}
        self._hub_locks = {c.name: threading.Lock() for c in CONFIGS}
        self._spawns: dict[CaseKey, Future[HubOutcome]] = {}
        self._verdicts: dict[CaseKey, Future[CliResult]] = {}

    def hub(self, config: HubConfig) -> RealHub:
        """The session's hub of this configuration, started on first use."""
        with self._hub_locks[config.name]:
            if config.name not in self._hubs:
                hub = RealHub(self._venv, config=config, docker_client=self._docker)
                hub.start()
                self._hubs[config.name] = hub
            return self._hubs[config.name]

    def prefetch(self, keys: Iterable[CaseKey]) -> None:
        """Start the cases in this order, a validator run next to each spawn."""
        for key in keys:
            self._submit(key)

    def outcome(self, key: CaseKey) -> HubOutcome:
        return self._submit(key)[0].result()

    def verdict(self, key: CaseKey) -> CliResult:
        return self._submit(key)[1].result()

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
        for hub in self._hubs.values():
            hub.close()
        self._hubs.clear()

    def _submit(self, key: CaseKey) -> tuple[Future[HubOutcome], Future[CliResult]]:
        with self._lock:
            if key not in self._spawns:
                self._spawns[key] = self._executor.submit(self._spawn, key)
                self._verdicts[key] = self._executor.submit(self._validate, key)
            return self._spawns[key], self._verdicts[key]

    def _spawn(self, key: CaseKey) -> HubOutcome:
        hub = self.hub(config_named(key.config))
        return hub.spawn_outcome(key.image, stable_window=self._stable_window)

    def _validate(self, key: CaseKey) -> CliResult:
        return run_cli(
            key.image,
            "--profile",
            config_named(key.config).profile,
            "--format",
            "json",
            "--stable-window",
            str(self._stable_window),
            timeout=600,
        )
