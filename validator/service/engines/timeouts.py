"""The Celery engine's time limits, derived from what a validation may take at most.

A validation waits for each step at most as long as its profile lets the hub wait,
capped by ``--max-wait`` (``validator.options.wait_limit``): the pull (bounded by the
profile's ``start_timeout``, which counts it), the single-user version command, the
first answer, the kernel, and the stable window after the first answer. The longest
profile sets the bound for every task: a worker does not know which profile the next
message carries. Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from validator.options import Options, wait_limit
from validator.profiles import Profile

# Steps the validator waits for with the profile's http_timeout (capped by max_wait):
# the version command, the first answer, the kernel.
WAITED_STEPS = 3
# Image removal, container clean-up, the result's transaction: above any step's wait.
MARGIN_S = 60.0
# The soft limit ends a validation this much before the hard one kills its process, so
# the sandbox removes its containers itself.
SOFT_BEFORE_HARD_S = 30.0
# Redis redelivers an unacknowledged message after the visibility timeout: well above the
# hard limit, so a message is never given to a second worker while the first still runs it.
VISIBILITY_FACTOR = 2.0


@dataclass(frozen=True)
class Limits:
    soft_s: float  # SoftTimeLimitExceeded is raised in the task
    hard_s: float  # the pool kills the process running the task
    visibility_s: float  # Redis: unacknowledged messages come back after this


def longest_validation(profile: Profile, options: Options) -> float:
    """The most seconds one validation of ``profile`` can take with ``options``."""
    step = wait_limit(profile.http_timeout, options)
    return float(profile.start_timeout) + WAITED_STEPS * step + options.stable_window


def derive(profiles: Iterable[Profile], options: Options) -> Limits:
    """The task limits that fit the longest validation any of ``profiles`` allows."""
    longest = max((longest_validation(p, options) for p in profiles), default=0.0)
    hard = longest + MARGIN_S
    return Limits(
        soft_s=hard - SOFT_BEFORE_HARD_S,
        hard_s=hard,
        visibility_s=hard * VISIBILITY_FACTOR,
    )
