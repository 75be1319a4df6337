"""One process-wide cancel: a Ctrl-C or SIGTERM reaches every wait of every run.

The signal arrives in the main thread only, while the waits that matter run in worker
threads (each command mode's version run and spawn, each image of ``--parallel``).
Every run's events are made by ``linked``; ``cancel_all`` sets them all, so each
``Event.wait`` in them ends at once, whichever thread it is in.
"""

from __future__ import annotations

import threading
import weakref

_PROCESS = threading.Event()
_LINKED: weakref.WeakSet[threading.Event] = weakref.WeakSet()
# Reentrant: the signal handler runs in the main thread, maybe inside linked().
_LOCK = threading.RLock()


def linked() -> threading.Event:
    """A cancel event of one run; set already when the process is being cancelled."""
    event = threading.Event()
    with _LOCK:
        _LINKED.add(event)
        if _PROCESS.is_set():
            event.set()
    return event


def cancel_all() -> None:
    """Cancel the process: every linked event, and those linked from now on."""
    with _LOCK:
        _PROCESS.set()
        events = list(_LINKED)
    for event in events:
        event.set()


def cancelled() -> bool:
    return _PROCESS.is_set()


def reset() -> None:
    """Back to not cancelled, for a process that goes on after one (tests)."""
    with _LOCK:
        _PROCESS.clear()
