"""Runtime checks: the server started exactly as a hub would start it.

Each module declares its checks next to the probes that observe them. Every probe
takes one ``RuntimeContext``; validator.runtime.stage starts the server, waits for it
and then runs the ``RUNTIME`` tuple in order.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from validator.image import ImageInfo
from validator.options import Options
from validator.profiles import Profile
from validator.runtime.hubstub import StubHub
from validator.runtime.spawn import Candidate
from validator.runtime.waiting import UpResult


@dataclass(frozen=True)
class RuntimeContext:
    """One started candidate and what the runtime probes need to judge it."""

    candidate: Candidate
    hub: StubHub
    profile: Profile
    options: Options
    up: UpResult  # how the wait for the first answer ended
    spawn_started: float  # monotonic time the container was asked for
    # The image as validate() found it (with the registry's compressed size, if asked);
    # None: probes that need it read the candidate's image from the engine.
    image: ImageInfo | None = None
    # Set when another spawn failed or the user pressed Ctrl-C: long waits end at once.
    cancel: threading.Event = field(default_factory=threading.Event)

    @property
    def first_answer(self) -> float | None:
        """Monotonic time of the server's first answer, if it answered."""
        if self.up.seconds is None:
            return None
        return self.candidate.started_at + self.up.seconds
