"""Group commit: many concurrent requests share one database transaction.

A webhook is acknowledged only once what it asked for is committed, and a commit costs
a sync of the file (SQLite) or a round trip (PostgreSQL) whatever it holds. One thread
takes every request waiting when it is free, applies them in one transaction and then
answers each one's future; nothing waits on a timer, so a lone request commits at once
and a burst shares its commits. If the commit fails every request of the batch gets the
error: none is acknowledged that is not stored.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

# A bound on one transaction, so a huge burst still commits in steps the readers of the
# database (the worker, the API) can interleave with.
MAX_BATCH = 128


class Closed(RuntimeError):
    """The committer was stopped; nothing more is accepted."""


class GroupCommitter(Generic[T, R]):
    def __init__(
        self,
        apply: Callable[[Sequence[T]], Sequence[R | BaseException]],
        *,
        max_batch: int = MAX_BATCH,
    ) -> None:
        # ``apply`` stores a batch in one transaction and returns each item's outcome: its
        # result, or the exception it alone raised (a replayed delivery) while the others
        # were stored; it raises if the transaction as a whole failed.
        self._apply = apply
        self._max_batch = max_batch
        self._pending: queue.SimpleQueue[tuple[T, Future[R]] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        self.batches = 0  # how many transactions; read by tests and the bench

    def submit(self, item: T) -> Future[R]:
        future: Future[R] = Future()
        with self._lock:
            if self._closed:
                raise Closed("the service is stopping")
            if self._thread is None:
                # Started on first use: an app that never receives a webhook (a test of
                # the API, a one-off command) runs no thread.
                self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
                self._thread.start()
            self._pending.put((item, future))
        return future

    def close(self, timeout: float | None = None) -> None:
        """Commit what is pending, then stop."""
        with self._lock:
            self._closed = True
            thread = self._thread
        if thread is not None:
            self._pending.put(None)
            thread.join(timeout)

    def _run(self) -> None:
        while True:
            first = self._pending.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < self._max_batch:
                try:
                    more = self._pending.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.append(more)
            self._commit(batch)
            if stop:
                return

    def _commit(self, batch: list[tuple[T, Future[R]]]) -> None:
        self.batches += 1
        try:
            outcomes = self._apply([item for item, _ in batch])
        except BaseException as exc:  # the transaction as a whole failed: nobody is stored
            # The type only: a driver message quotes the statement and its parameters.
            log.error("group commit of %d requests failed: %s", len(batch), type(exc).__name__)
            for _, future in batch:
                future.set_exception(exc)
            return
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
