"""What the request handlers share: settings, store, worker, metrics, rate limiter,
admin lock-out, and who a request comes from."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from fastapi import Request

from validator.service import peers
from validator.service.engines.base import Engine
from validator.service.groupcommit import GroupCommitter
from validator.service.lockout import Lockout
from validator.service.matching import WatchView
from validator.service.metrics import Metrics
from validator.service.ratelimit import RateLimiter
from validator.service.settings import Settings
from validator.service.store import Accepted, Delivered, Store

# Watches change rarely and every webhook needs them: they are read from the database
# at most this often (at once after a change made through this process).
WATCHES_TTL_S = 5.0


@dataclass
class Service:
    settings: Settings
    store: Store
    worker: Engine  # takes the webhook jobs (``wake``): local threads or Celery
    metrics: Metrics
    limiter: RateLimiter
    lockout: Lockout
    # Webhook deliveries are stored through this: one transaction for all waiting.
    committer: GroupCommitter[Delivered, Accepted]
    _views: tuple[WatchView, ...] | None = field(default=None, repr=False)
    _read_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def watch_views(self) -> tuple[WatchView, ...]:
        with self._lock:
            if self._views is None or time.monotonic() - self._read_at > WATCHES_TTL_S:
                self._views = tuple(w.view for w in self.store.watches())
                self._read_at = time.monotonic()
            return self._views

    def source(self, request: Request) -> str:
        """The client's address, through trusted proxies only (peers.source)."""
        peer = request.client.host if request.client else None
        forwarded = request.headers.getlist("x-forwarded-for")
        return peers.source(peer, forwarded, self.settings.trusted_proxies)

    def watches_changed(self) -> None:
        with self._lock:
            self._views = None


def service(request: Request) -> Service:
    found: Service = request.app.state.service
    return found
