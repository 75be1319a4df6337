"""The interface every execution engine offers the service (BinderHub's executors,
``binderhub/build.py``, are the model): the HTTP side stores a job, then tells the engine;
how and where the job runs is the engine's business."""

from __future__ import annotations

from typing import Any, Protocol


class Engine(Protocol):
    name: str

    def start(self) -> None:
        """Begin taking jobs (jobs left by an earlier stop included)."""

    def stop(self, grace: float = 10.0) -> None:
        """Take nothing new; give running work ``grace`` seconds."""

    def wake(self) -> None:
        """Webhook jobs were queued in the store."""

    def submit(self, public_id: str) -> None:
        """An on-demand request was stored under ``public_id``."""

    @property
    def busy(self) -> int:
        """Jobs running now."""

    def health(self) -> dict[str, Any]:
        """What /healthz shows of the engine (never a secret)."""

    def queue_depths(self) -> dict[str, int]:
        """Messages waiting per broker queue (empty for an engine without a broker)."""

    def running_per_worker(self) -> dict[str, int]:
        """Jobs running per worker seen (empty for an engine without separate workers)."""
