"""The page's logins: an opaque random id in the browser, the rest in this process.

The cookie holds nothing but a 256-bit random id; the hub's OAuth token, the user name
and the CSRF token stay in memory here. A restart forgets every session, and the next
page load goes through the hub's OAuth again (a redirect, no password while the hub's
own login lasts). Each session is checked against the hub again after ``recheck``
seconds, so a logout at the hub or a revoked token ends access soon; it ends after
``lifetime`` seconds whatever happens.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from validator.registry.credentials import Secret

SESSION_LIFETIME_S = 8 * 3600.0
RECHECK_S = 30.0
# Sessions kept at most; beyond, the oldest go (a flood of logins cannot grow memory).
MAX_SESSIONS = 10_000


@dataclass(frozen=True)
class Session:
    id: str = field(repr=False)
    user: str
    token: Secret = field(repr=False)
    csrf: str = field(repr=False)
    created: float
    checked: float

    def csrf_ok(self, given: str | None) -> bool:
        return given is not None and secrets.compare_digest(given.encode(), self.csrf.encode())


class Sessions:
    def __init__(
        self,
        *,
        lifetime: float = SESSION_LIFETIME_S,
        recheck: float = RECHECK_S,
        limit: int = MAX_SESSIONS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.lifetime = lifetime
        self.recheck = recheck
        self.limit = limit
        self.clock = clock
        self._items: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()

    def create(self, user: str, token: Secret) -> Session:
        now = self.clock()
        session = Session(
            id=secrets.token_urlsafe(32),
            user=user,
            token=token,
            csrf=secrets.token_urlsafe(32),
            created=now,
            checked=now,
        )
        with self._lock:
            self._items[session.id] = session
            while len(self._items) > self.limit:
                self._items.popitem(last=False)
        return session

    def get(self, session_id: str | None) -> Session | None:
        """The live session of this id, or None (unknown or expired)."""
        if not session_id:
            return None
        with self._lock:
            session = self._items.get(session_id)
            if session is not None and self.clock() - session.created > self.lifetime:
                del self._items[session_id]
                return None
            return session

    def due(self, session: Session) -> bool:
        """Time to ask the hub whether the session's token still holds."""
        return self.clock() - session.checked >= self.recheck

    def confirmed(self, session: Session) -> Session:
        fresh = replace(session, checked=self.clock())
        with self._lock:
            if session.id in self._items:
                self._items[session.id] = fresh
        return fresh

    def drop(self, session_id: str | None) -> None:
        if session_id:
            with self._lock:
                self._items.pop(session_id, None)

    def __len__(self) -> int:
        return len(self._items)
