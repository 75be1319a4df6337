"""stops-promptly: reading PID 1's signal masks, the grace periods, the wait after SIGTERM."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from validator.checks.runtime.stopping import (
    ExitsAfterSigterm,
    Pid1,
    grace_seconds,
    parse_pid1,
)
from validator.profiles import CommandMode
from validator.runtime.spawn import Candidate

# Shaped like /proc/1/status of jupyterhub-singleuser as PID 1: SIGTERM (bit 15) caught.
PYTHON_STATUS = "Name:\tjupyterhub-sing\nSigIgn:\t0000000001001000\nSigCgt:\t0000000180004002\n"
# dash running a script that does not exec: SIGINT and SIGCHLD caught, SIGTERM not.
SHELL_STATUS = "Name:\tentrypoint.sh\nSigIgn:\t0000000000000004\nSigCgt:\t0000000000010002\n"
# A `trap '' TERM`: ignored outright.
IGNORING_STATUS = "Name:\tbash\nSigIgn:\t0000000000004000\nSigCgt:\t0000000000010002\n"


def test_a_python_server_handles_sigterm() -> None:
    pid1 = parse_pid1(
        PYTHON_STATUS, b"/opt/venv/bin/python3\0/opt/venv/bin/jupyterhub-singleuser\0"
    )
    assert pid1 == Pid1("/opt/venv/bin/python3 /opt/venv/bin/jupyterhub-singleuser", True)


def test_a_shell_without_exec_does_not() -> None:
    pid1 = parse_pid1(
        SHELL_STATUS, b"/bin/sh\0/usr/local/bin/entrypoint.sh\0jupyterhub-singleuser\0"
    )
    assert pid1 is not None
    assert not pid1.handles_sigterm
    assert pid1.command == "/bin/sh /usr/local/bin/entrypoint.sh jupyterhub-singleuser"


def test_an_ignored_sigterm_is_not_handled_and_the_name_stands_in_for_argv() -> None:
    pid1 = parse_pid1(IGNORING_STATUS, b"")
    assert pid1 == Pid1("bash", False)


# tini -g as PID 1 (Debian's tini 0.19), read while it waits: nothing caught or blocked
# (sigtimedwait unblocks what it waits for), yet `docker stop` ends it in 0.2 s.
TINI_STATUS = (
    "Name:\ttini\nSigBlk:\t0000000000000000\nSigIgn:\t0000000000300000\n"
    "SigCgt:\t0000000000000000\ndo_sigtimedwait.isra.0"
)
# An init waiting on a signalfd: SIGTERM blocked, so queued for it, never dropped.
SIGNALFD_STATUS = "Name:\tcatatonit\nSigBlk:\t0000000000004000\nSigIgn:\t0\nSigCgt:\t0\n"


def test_an_init_waiting_in_sigtimedwait_takes_sigterm() -> None:
    pid1 = parse_pid1(TINI_STATUS, b"tini\0-g\0--\0jupyterhub-singleuser\0")
    assert pid1 == Pid1("tini -g -- jupyterhub-singleuser", True)


def test_an_init_that_blocks_sigterm_takes_it() -> None:
    pid1 = parse_pid1(SIGNALFD_STATUS, b"")
    assert pid1 == Pid1("catatonit", True)


def test_a_shell_asleep_elsewhere_still_does_not() -> None:
    pid1 = parse_pid1(SHELL_STATUS + "do_wait", b"")
    assert pid1 is not None and not pid1.handles_sigterm


def test_a_status_without_signal_masks_tells_nothing() -> None:
    assert parse_pid1("Name:\tx\n", b"x\0") is None


@pytest.mark.parametrize(
    ("spawner", "seconds"),
    [("dockerspawner", 10.0), ("kubespawner", 1.0), ("KubeSpawner", 1.0), ("batchspawner", 10.0)],
)
def test_grace_periods_per_spawner(spawner: str, seconds: float) -> None:
    assert grace_seconds(spawner) == seconds


@dataclass
class FakeContainer:
    """A container whose engine wait answers after ``exits_after`` seconds."""

    exits_after: float | None
    code: int = 0
    started: float = field(default_factory=time.monotonic)

    def wait(self, timeout: float) -> dict[str, Any]:
        if self.exits_after is not None and time.monotonic() - self.started >= self.exits_after:
            return {"StatusCode": self.code}
        time.sleep(timeout)
        raise requests.exceptions.ReadTimeout()


def _candidate(container: FakeContainer) -> Candidate:
    return Candidate(container, "127.0.0.1", 8888, "/user/x/", "t", CommandMode.IMAGE)


def test_an_exit_is_timed() -> None:
    sent = time.monotonic()
    strategy = ExitsAfterSigterm(_candidate(FakeContainer(0.3, code=0)), sent, Pid1("py", True))
    outcome = None
    while outcome is None:
        outcome = strategy.check()
    assert outcome.code == 0
    assert 0.3 <= outcome.seconds < 1.0


def test_a_pid1_without_a_handler_ends_the_wait_at_the_first_look() -> None:
    shell = Pid1("/bin/sh /entrypoint.sh", False)
    strategy = ExitsAfterSigterm(_candidate(FakeContainer(None)), time.monotonic(), shell)
    outcome = strategy.check()
    assert outcome is not None
    assert outcome.code is None and outcome.pid1 == shell
    assert outcome.seconds < 1.0


def test_a_handler_that_never_exits_runs_into_the_deadline() -> None:
    strategy = ExitsAfterSigterm(_candidate(FakeContainer(None)), time.monotonic(), None)
    assert strategy.check() is None
    assert strategy.timed_out().code is None
