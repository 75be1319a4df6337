"""Failed admin authentications, counted per source address: after ``max_failures``
within ``window`` seconds the address is locked out for ``lockout`` seconds, during
which every admin request from it is answered 429 without looking at its token, so
guessing stays slow even for a guesser that would eventually be right.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from validator.service.ratelimit import MAX_SOURCES

WINDOW_S = 60.0


@dataclass
class _Record:
    failures: deque[float] = field(default_factory=deque)
    locked_until: float = 0.0


class Lockout:
    def __init__(
        self,
        max_failures: int,
        lockout: float,
        clock: Callable[[], float],
        window: float = WINDOW_S,
    ) -> None:
        self.max_failures = max_failures
        self.lockout = lockout
        self.window = window
        self.clock = clock
        self._records: OrderedDict[str, _Record] = OrderedDict()
        self._lock = threading.Lock()

    def blocked(self, source: str) -> float:
        """Seconds ``source`` stays locked out; 0 if it may try."""
        with self._lock:
            record = self._records.get(source)
            return max(0.0, record.locked_until - self.clock()) if record else 0.0

    def failed(self, source: str) -> bool:
        """Count a failure; True if it locked ``source`` out."""
        now = self.clock()
        with self._lock:
            record = self._records.pop(source, None) or _Record()
            self._records[source] = record  # most recently seen last
            while len(self._records) > MAX_SOURCES:
                self._records.popitem(last=False)
            record.failures.append(now)
            while record.failures and record.failures[0] <= now - self.window:
                record.failures.popleft()
            if len(record.failures) >= self.max_failures:
                record.failures.clear()
                record.locked_until = now + self.lockout
                return True
            return False

    def succeeded(self, source: str) -> None:
        with self._lock:
            record = self._records.get(source)
            if record is not None and record.locked_until <= self.clock():
                del self._records[source]
