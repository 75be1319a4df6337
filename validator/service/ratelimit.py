"""A token bucket per source address: ``rate`` requests a second on average, bursts of
up to ``burst``. A registry sends one request per event (every layer of a push is one),
so the defaults leave room for a large push; a flood from one address is cut off with
HTTP 429 before it costs a database write.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

# Addresses remembered at most; the least recently seen are forgotten first, so a flood
# of spoofed sources cannot grow memory without bound.
MAX_SOURCES = 10_000


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(self, rate: float, burst: int, clock: Callable[[], float]) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def acquire(self, source: str) -> float:
        """0 if ``source`` may go on now, else the seconds until it may."""
        if self.rate <= 0:
            return 0.0
        now = self.clock()
        with self._lock:
            bucket = self._buckets.pop(source, None) or _Bucket(float(self.burst), now)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
            self._buckets[source] = bucket
            while len(self._buckets) > MAX_SOURCES:
                self._buckets.popitem(last=False)
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return 0.0
            return (1 - bucket.tokens) / self.rate


def retry_after(seconds: float) -> str:
    """The Retry-After header value: whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))
