"""A container's output, read once and kept in a bounded window.

An image is untrusted input: it may write gigabytes to stdout. The engine caps what it
keeps on disk (``sandbox.Limits``); this module caps what the validator holds. One
follower thread per container consumes the engine's log stream as it is written, so
no poll ever reads the whole log again, and keeps only the first ``HEAD_BYTES`` (where
a start-up error usually is) and the last ``TAIL_BYTES`` (where the final words are).
Strings a wait looks for (a server's banner) are searched in every byte as it arrives,
with an overlap of the string's length across chunks, so a banner in the skipped middle
is still seen.
"""

from __future__ import annotations

import collections
import contextlib
import threading

import docker.errors
import requests
from docker.models.containers import Container

HEAD_BYTES = 64 * 1024
TAIL_BYTES = 256 * 1024


class LogWindow:
    """The first and last bytes of a stream, its total size, and the strings seen in it.

    Thread-safe: one thread feeds, any thread reads.
    """

    def __init__(self, head: int = HEAD_BYTES, tail: int = TAIL_BYTES) -> None:
        self._head_cap, self._tail_cap = head, tail
        self._head = bytearray()
        self._tail: collections.deque[bytes] = collections.deque()
        self._tail_size = 0
        self._total = 0
        self._lock = threading.Lock()
        # needle -> the last len(needle)-1 bytes before the next chunk; None once seen.
        self._watched: dict[bytes, bytes | None] = {}

    @property
    def total(self) -> int:
        """Bytes fed so far, kept or not."""
        return self._total

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        with self._lock:
            self._total += len(chunk)
            for needle, overlap in self._watched.items():
                if overlap is None:
                    continue
                joined = overlap + chunk
                if needle in joined:
                    self._watched[needle] = None
                else:
                    self._watched[needle] = joined[-(len(needle) - 1) :] if len(needle) > 1 else b""
            room = self._head_cap - len(self._head)
            if room > 0:
                self._head += chunk[:room]
                chunk = chunk[room:]
            if chunk:
                self._keep_tail(chunk)

    def _keep_tail(self, chunk: bytes) -> None:
        if len(chunk) >= self._tail_cap:
            self._tail.clear()
            chunk = chunk[-self._tail_cap :]
            self._tail_size = 0
        self._tail.append(chunk)
        self._tail_size += len(chunk)
        while self._tail_size - len(self._tail[0]) >= self._tail_cap:
            self._tail_size -= len(self._tail.popleft())

    def watch(self, text: str) -> None:
        """Look for ``text`` from now on (and in what is kept already)."""
        needle = text.encode()
        with self._lock:
            if needle in self._watched:
                return
            kept = bytes(self._head) + b"".join(self._tail)
            self._watched[needle] = None if needle in kept else kept[-(len(needle) - 1) :]

    def seen(self, text: str) -> bool:
        """Whether ``text`` appeared since it was first watched (watching it if new)."""
        self.watch(text)
        with self._lock:
            return self._watched[text.encode()] is None

    def text(self) -> str:
        """What is kept, decoded; a marker line says how much of the middle is not."""
        with self._lock:
            head = bytes(self._head)
            tail = b"".join(self._tail)[-self._tail_cap :]
            skipped = self._total - len(head) - len(tail)
        if skipped <= 0:
            return (head + tail).decode("utf-8", "replace")
        # The tail starts in the middle of a line: drop that fragment.
        cut = tail.find(b"\n")
        if 0 <= cut < len(tail) - 1:
            skipped += cut + 1
            tail = tail[cut + 1 :]
        marker = f"\n[... {skipped:,} bytes of output not kept ...]\n".encode()
        return (head + marker + tail).decode("utf-8", "replace")


class LogFollower:
    """Follows one container's stdout and stderr into a ``LogWindow`` on a daemon thread.

    Start it right after the container starts: the stream begins with everything the
    container wrote so far. It ends when the container ends (or is removed), or on
    ``close``.
    """

    def __init__(self, container: Container, window: LogWindow | None = None) -> None:
        self.container = container
        self.window = window or LogWindow()
        self._closed = threading.Event()
        self._ended = threading.Event()
        self._stream: object | None = None
        self._thread = threading.Thread(
            target=self._run, name=f"logs-{container.short_id}", daemon=True
        )

    def start(self) -> LogFollower:
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            # docker-py lifts the read timeout on a followed stream: a quiet server does
            # not end it, only the container's end (or close) does.
            stream = self.container.logs(stdout=True, stderr=True, stream=True, follow=True)
            self._stream = stream
            for chunk in stream:
                if self._closed.is_set():
                    break
                self.window.feed(chunk)
        except (docker.errors.DockerException, requests.RequestException, OSError, ValueError):
            pass  # the container is gone or the engine went away: keep what we have
        finally:
            self._ended.set()

    def wait_ended(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for the stream to end (the container exited)."""
        return self._ended.wait(max(0.0, timeout))

    def close(self) -> None:
        """Stop following; what was read stays in the window."""
        self._closed.set()
        stream = self._stream
        close = getattr(stream, "close", None)
        if close is not None:
            with contextlib.suppress(OSError, ValueError, AttributeError):
                close()

    def text(self) -> str:
        return self.window.text()

    @property
    def total(self) -> int:
        return self.window.total
