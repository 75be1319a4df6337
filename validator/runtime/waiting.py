"""Waiting for a container: one poll loop, and the few things we wait for as strategies.

``poll`` is the only loop. A strategy says what one look at the container shows
(``check``: an outcome, or None to keep waiting), how often to look (``interval``) and
what running into the deadline means (``timed_out``). ``wait_for`` runs a strategy.

testcontainers has the same split (``WaitStrategy`` with ``_poll``), but its strategies
answer "ready or TimeoutError" from a start the loop itself picks. Ours return an outcome
(the exit code, the listening sockets, the time to the first answer), measure their
deadline from the container's start, and stop when another spawn's failure cancels the
run, so they follow the same shape as a protocol of our own rather than a subclass.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

import requests
from docker.models.containers import Container

from validator.runtime.listening import Listener
from validator.runtime.logs import LogWindow
from validator.runtime.tls import plain_http_status

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

# Handshakes failing this long (an entrypoint's restart of the server aside) are the
# server's settled answer.
TLS_SETTLE_S = 5.0

# Below this status the hub counts a server as up, even a 404 (utils.wait_for_http_server).
HUB_UP_BELOW = 500


def poll(
    condition: Callable[[], T | None],
    *,
    deadline: float,
    interval: float,
    cancel: threading.Event | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], object] | None = None,
) -> T | None:
    """Call ``condition`` until it returns an outcome; None at ``deadline`` or on ``cancel``.

    ``condition`` is always called at least once, even past the deadline, so a wait
    whose window has already closed still reports what it sees. ``deadline`` is a
    ``clock()`` value. The pause between calls is ``interval``, shortened so the last
    call falls on the deadline; a set ``cancel`` ends the pause at once.
    """
    cancel = cancel or threading.Event()
    pause = sleep or cancel.wait
    while not cancel.is_set():
        now = clock()
        outcome = condition()
        if outcome is not None:
            return outcome
        if now >= deadline:
            return None
        pause(max(0.0, min(interval, deadline - clock())))
    return None


class WaitStrategy(Protocol[T_co]):
    """What to look for while waiting, and what the end of the wait means."""

    @property
    def interval(self) -> float:
        """Seconds between two looks."""
        ...

    def check(self) -> T_co | None:
        """The outcome, once one look shows it; None to keep waiting."""
        ...

    def timed_out(self) -> T_co:
        """The outcome when the deadline passes first."""
        ...


def wait_for(
    strategy: WaitStrategy[T], *, deadline: float, cancel: threading.Event | None = None
) -> T | None:
    """Run ``strategy`` until its outcome or ``deadline`` (monotonic); None only on cancel."""
    outcome = poll(strategy.check, deadline=deadline, interval=strategy.interval, cancel=cancel)
    if outcome is not None:
        return outcome
    if cancel is not None and cancel.is_set():
        return None
    return strategy.timed_out()


class Server(Protocol):
    """A started server container, as the waits below look at it (``spawn.Candidate``)."""

    @property
    def url(self) -> str: ...

    @property
    def port(self) -> int: ...

    @property
    def started_at(self) -> float: ...

    def exit_code(self) -> int | None: ...

    def printed(self, text: str) -> bool:
        """Whether ``text`` appeared in the server's output (searched as it arrives)."""
        ...

    def listeners(self) -> list[Listener] | None: ...


@dataclass(frozen=True)
class UpResult:
    """How the wait for the server's first answer ended."""

    seconds: float | None  # time to the first answer below 500, if any
    status: int | None = None
    exit_code: int | None = None  # the container exited
    listeners: list[Listener] | None = None  # set when it listens, but not where expected
    timed_out: bool = False
    # Internal SSL: the status a plain-HTTP request got where TLS was refused, and the
    # last TLS error seen (a handshake the hub's client would fail too).
    plain_http: int | None = None
    tls_error: str | None = None


def _misplaced(listeners: list[Listener], port: int) -> bool:
    """The server listens somewhere, but not on the hub's port on a reachable address."""
    reachable = [x for x in listeners if x.port == port and not x.is_loopback]
    return bool(listeners) and not reachable


class HubReady:
    """The server answers ``{prefix}api`` below 500, as the hub's wait_for_http_server asks.

    The wait also ends when the container exits, or when the server printed
    ``ready_banner`` but listens where the hub cannot reach it: it will never answer.
    With internal SSL it ends too when the server answers plain HTTP where the hub
    speaks TLS, or when every handshake for ``TLS_SETTLE_S`` failed: a server that
    serves with other certificates than the hub's does not change its mind, and the
    hub's own http_timeout may be hours.
    """

    interval = 0.1
    # The read timeout of one readiness request, shortened to what is left of the wait.
    read_timeout = 5.0

    def __init__(
        self,
        server: Server,
        ready_banner: str,
        session: requests.Session | None = None,
        *,
        deadline: float | None = None,
    ) -> None:
        """``session`` reaches the server as the hub does (``Candidate.session()``);
        ``deadline`` (monotonic) bounds each request, so the wait ends on time."""
        self.server = server
        self.ready_banner = ready_banner
        self.deadline = deadline
        self._session = session or requests.Session()
        self._next_listen_check = 0.0
        self._tls_error: str | None = None
        self._tls_failing_since: float | None = None

    def check(self) -> UpResult | None:
        server = self.server
        now = time.monotonic()
        url = server.url + "api"
        try:
            # A short connect timeout: once a container dies its address stops answering
            # at all, and the exit check below must not wait behind it.
            response = self._session.get(url, timeout=(0.5, self._left()), allow_redirects=False)
            if response.status_code < HUB_UP_BELOW:
                return UpResult(seconds=now - server.started_at, status=response.status_code)
        except requests.exceptions.SSLError as exc:
            # Something listens and the handshake failed: ask in plain HTTP whether
            # the server simply does not speak TLS, which no retry will change.
            plain = plain_http_status(url)
            if plain is not None:
                return UpResult(seconds=None, plain_http=plain, tls_error=_reason(exc))
            self._tls_error = _reason(exc)
            if self._tls_failing_since is None:
                self._tls_failing_since = now
            elif now - self._tls_failing_since >= TLS_SETTLE_S:
                return UpResult(seconds=None, tls_error=self._tls_error)
        except requests.RequestException:
            self._tls_failing_since = None
        exit_code = server.exit_code()
        if exit_code is not None:
            return UpResult(seconds=None, exit_code=exit_code, tls_error=self._tls_error)
        # Reading the sockets costs an exec in the container: once a second is enough.
        if now >= self._next_listen_check:
            self._next_listen_check = now + 1.0
            if server.printed(self.ready_banner):
                listeners = server.listeners()
                if listeners is not None and _misplaced(listeners, server.port):
                    return UpResult(seconds=None, listeners=listeners)
        return None

    def _left(self) -> float:
        if self.deadline is None:
            return self.read_timeout
        return max(0.2, min(self.read_timeout, self.deadline - time.monotonic()))

    def timed_out(self) -> UpResult:
        return UpResult(
            seconds=None,
            timed_out=True,
            listeners=self.server.listeners(),
            tls_error=self._tls_error,
        )


def _reason(exc: BaseException) -> str:
    """The innermost ``ssl.SSLError``'s reason (e.g. "WRONG_VERSION_NUMBER") under ``exc``.

    requests wraps urllib3's error, which wraps the ssl module's, in arguments or as
    the cause; the first one with a reason names the failure best.
    """
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError) and current.verify_message:
            return f"{current.reason}: {current.verify_message}"
        if isinstance(current, ssl.SSLError) and current.reason:
            return str(current.reason)
        nested: list[object] = [*current.args, current.__cause__, current.__context__]
        nested.append(getattr(current, "reason", None))  # urllib3's MaxRetryError
        todo += [n for n in nested if isinstance(n, BaseException)]
    return exc.__class__.__name__


@dataclass(frozen=True)
class Exit:
    """How a wait on a container ended: ``code`` is None while it still runs."""

    code: int | None


class Exits:
    """The container's command ends; ``give_up_when(output so far)`` may end the wait sooner.

    The output is the bounded ``LogWindow`` a follower fills; the predicate sees it again
    only when new output arrived.
    """

    # The engine's own wait blocks for this long in each look, so no pause is needed.
    interval = 0.0
    engine_wait = 0.25

    def __init__(
        self,
        container: Container,
        output: LogWindow,
        give_up_when: Callable[[str], bool] | None = None,
    ) -> None:
        self.container = container
        self.output = output
        self.give_up_when = give_up_when
        self._judged = -1  # output.total when give_up_when last saw it

    def check(self) -> Exit | None:
        try:
            status = self.container.wait(timeout=self.engine_wait)
            return Exit(int(status.get("StatusCode", -1)))
        except (requests.exceptions.ConnectionError, requests.exceptions.ReadTimeout):
            pass
        if self.give_up_when is None or self.output.total == self._judged:
            return None
        self._judged = self.output.total
        return Exit(None) if self.give_up_when(self.output.text()) else None

    def timed_out(self) -> Exit:
        return Exit(None)


class StaysUp:
    """The server keeps running to the deadline; the wait ends early if it exits.

    The outcome is its exit code, or ``Exit(None)``: still running at the deadline.
    """

    interval = 0.25

    def __init__(self, server: Server) -> None:
        self.server = server

    def check(self) -> Exit | None:
        code = self.server.exit_code()
        return Exit(code) if code is not None else None

    def timed_out(self) -> Exit:
        return Exit(None)
