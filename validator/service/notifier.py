"""Callbacks on their own threads and bounded queue, never on a validation worker.

A callback endpoint that is slow or down costs up to three tries with a 10 s timeout
each; on a worker thread that would delay the next validation of every watch. Here the
worker only queues the delivery and goes on.

When the queue is full the oldest waiting delivery is dropped (counted in
``jhiv_callbacks_total{outcome="dropped"}`` and logged): delivery is best effort by
contract, the verdict stays in the API, and the newest verdicts are the ones a receiver
still cares about. Persisting them instead would let one dead endpoint grow a table
without bound.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from validator.redact import redact_url
from validator.registry.credentials import Secret
from validator.service import callback
from validator.service.metrics import Metrics

log = logging.getLogger(__name__)

THREADS = 2
# Drops are logged the first time and then every this many, not each: a flood of
# verdicts for a dead endpoint must not become a flood of log lines.
LOG_EVERY = 100

Send = Callable[[str, dict[str, Any], Secret | None], bool]


@dataclass(frozen=True)
class Delivery:
    url: str
    document: dict[str, Any]
    secret: Secret | None


class Notifier:
    def __init__(
        self,
        metrics: Metrics,
        capacity: int,
        send: Send | None = None,
        threads: int = THREADS,
    ) -> None:
        self.metrics = metrics
        self.capacity = capacity
        self.threads = threads
        self._send: Send = send or self._send_with_retries
        self._queue: deque[Delivery] = deque()
        self._ready = threading.Condition()
        self._stopping = threading.Event()
        self._workers: list[threading.Thread] = []
        self.dropped = 0

    def _send_with_retries(self, url: str, document: dict[str, Any], secret: Secret | None) -> bool:
        # The pauses between tries end at once when the service stops.
        return callback.send(url, document, secret, sleep=self._pause)

    def _pause(self, seconds: float) -> None:
        self._stopping.wait(seconds)

    def start(self) -> None:
        for index in range(self.threads):
            thread = threading.Thread(target=self._loop, name=f"jhiv-callback-{index}", daemon=True)
            thread.start()
            self._workers.append(thread)

    def stop(self, grace: float = 5.0) -> None:
        self._stopping.set()
        with self._ready:
            self._ready.notify_all()
        for thread in self._workers:
            thread.join(grace)

    def submit(self, url: str, document: dict[str, Any], secret: Secret | None) -> None:
        with self._ready:
            if len(self._queue) >= self.capacity:
                old = self._queue.popleft()
                self.dropped += 1
                self.metrics.callbacks.labels("dropped").inc()
                if self.dropped == 1 or self.dropped % LOG_EVERY == 0:
                    log.warning(
                        "The callback queue is full (%d): dropped the oldest, validation %s "
                        "for %s (%d dropped so far)",
                        self.capacity,
                        old.document.get("validation_id"),
                        redact_url(old.url),
                        self.dropped,
                    )
            self._queue.append(Delivery(url, document, secret))
            self.metrics.callback_queue.set(len(self._queue))
            self._ready.notify()

    def pending(self) -> int:
        with self._ready:
            return len(self._queue)

    def _next(self) -> Delivery | None:
        with self._ready:
            while not self._queue and not self._stopping.is_set():
                self._ready.wait()
            if self._stopping.is_set():
                return None
            delivery = self._queue.popleft()
            self.metrics.callback_queue.set(len(self._queue))
            return delivery

    def _loop(self) -> None:
        while (delivery := self._next()) is not None:
            try:
                delivered = self._send(delivery.url, delivery.document, delivery.secret)
            except Exception as exc:  # a bug must not end the thread
                log.error("Callback to %s failed: %s", redact_url(delivery.url), type(exc).__name__)
                delivered = False
            self.metrics.callbacks.labels("delivered" if delivered else "failed").inc()
