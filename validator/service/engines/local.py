"""The embedded engine: today's in-process threads, unchanged (``Worker`` for webhook
jobs, ``OnDemand`` for requests), taking jobs straight from the store. Zero
configuration; one service process per database."""

from __future__ import annotations

from typing import Any

from validator.service.ondemand import OnDemand
from validator.service.worker import Worker


class LocalEngine:
    name = "local"

    def __init__(self, worker: Worker, ondemand: OnDemand) -> None:
        self.worker = worker
        self.ondemand = ondemand

    def start(self) -> None:
        self.worker.start()
        self.ondemand.start()

    def stop(self, grace: float = 10.0) -> None:
        self.ondemand.stop(grace)
        self.worker.stop(grace)

    def wake(self) -> None:
        self.worker.wake()

    def submit(self, public_id: str) -> None:
        self.ondemand.submit(public_id)

    @property
    def busy(self) -> int:
        return self.worker.busy

    def health(self) -> dict[str, Any]:
        return {"engine": self.name, "workers": self.worker.concurrency}

    def queue_depths(self) -> dict[str, int]:
        return {}

    def running_per_worker(self) -> dict[str, int]:
        return {}
