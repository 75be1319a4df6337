"""One process-wide cancel reaches every run's events (validator.runtime.cancel)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from validator.runtime import cancel


@pytest.fixture(autouse=True)
def not_cancelled() -> Iterator[None]:
    cancel.reset()
    yield
    cancel.reset()


def test_cancel_all_sets_every_linked_event() -> None:
    first, second = cancel.linked(), cancel.linked()
    assert not first.is_set() and not cancel.cancelled()
    cancel.cancel_all()
    assert first.is_set() and second.is_set() and cancel.cancelled()


def test_an_event_linked_after_the_cancel_is_set_already() -> None:
    cancel.cancel_all()
    assert cancel.linked().is_set()


def test_a_wait_in_another_thread_ends_at_the_cancel() -> None:
    event = cancel.linked()
    ended: list[float] = []

    def wait() -> None:
        event.wait(60)
        ended.append(time.monotonic())

    thread = threading.Thread(target=wait)
    thread.start()
    sent = time.monotonic()
    cancel.cancel_all()
    thread.join(5)
    assert ended and ended[0] - sent < 1


def test_setting_one_run_event_cancels_only_that_run() -> None:
    mine, other = cancel.linked(), cancel.linked()
    mine.set()
    assert not other.is_set() and not cancel.cancelled()
