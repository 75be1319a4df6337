"""Does the server stop when the hub stops it?

The hub stops a server through its spawner, which has the engine send SIGTERM to the
container's PID 1 and SIGKILL once a grace period has passed. The kernel drops a
signal sent to a namespace's PID 1 from outside unless PID 1 installed a handler for
it, so a shell entrypoint that runs the server as its child instead of ``exec``-ing it
ignores the stop: every stop then costs the whole grace period and ends in SIGKILL.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import docker.errors
import requests

from validator.checks.base import Check, Stage
from validator.checks.runtime import RuntimeContext
from validator.findings import Finding
from validator.runtime.spawn import Candidate
from validator.runtime.waiting import wait_for

# Seconds from SIGTERM to SIGKILL, per spawner. DockerSpawner calls `docker stop`
# without a timeout, so Docker's default of 10 s applies (dockerspawner.py
# stop_object); KubeSpawner deletes the pod with delete_grace_period, 1 s by default
# (kubespawner/spawner.py), which overrides the pod's terminationGracePeriodSeconds.
GRACE_SECONDS = {"dockerspawner": 10.0, "kubespawner": 1.0}
DEFAULT_GRACE_SECONDS = 10.0  # Docker's own default, for a spawner we do not know

# How long the probe waits for the exit: Docker's grace period, whatever the spawner's.
# A server that handles SIGTERM but needs longer than KubeSpawner's 1 s to shut down
# (jupyter_server takes one to two) is killed in the middle of a shutdown the user no
# longer waits for; only a stop that never comes is worth a warning.
WAIT_SECONDS = 10.0

SIGTERM = 15


def grace_seconds(spawner: str) -> float:
    return GRACE_SECONDS.get(spawner.lower(), DEFAULT_GRACE_SECONDS)


@dataclass(frozen=True)
class Pid1:
    """The container's PID 1 as /proc/1/status and /proc/1/cmdline show it."""

    command: str
    handles_sigterm: bool


def parse_pid1(status: str, cmdline: bytes) -> Pid1 | None:
    """PID 1 from its /proc files; None when the status has no signal masks.

    ``status`` may end with /proc/1/wchan (a line without a colon, read in the same
    exec): an init such as tini waits for signals in sigtimedwait, which leaves its
    blocked mask empty while it waits (the kernel keeps the real one apart) and
    catches nothing, yet the kernel delivers it SIGTERM (kernel/signal.c sig_ignored:
    blocked signals are never ignored) and it passes the signal on.
    """
    lines = status.splitlines()
    fields = dict(line.split(":", 1) for line in lines if ":" in line)
    wchan = lines[-1].strip() if lines and ":" not in lines[-1] else ""
    try:
        caught = int(fields["SigCgt"].strip(), 16)
        ignored = int(fields["SigIgn"].strip(), 16)
        blocked = int(fields.get("SigBlk", "0").strip(), 16)
    except (KeyError, ValueError):
        return None
    bit = 1 << (SIGTERM - 1)
    takes = bool((caught | blocked) & bit) or "sigtimedwait" in wchan
    args = [a for a in cmdline.decode("utf-8", "replace").split("\0") if a]
    command = " ".join(args) or fields.get("Name", "").strip() or "?"
    return Pid1(command=command, handles_sigterm=takes and not ignored & bit)


def read_pid1(candidate: Candidate) -> Pid1 | None:
    """PID 1 of the running container, or None when the image cannot show it (no cat)."""
    try:
        status = candidate.container.exec_run(["cat", "/proc/1/status", "/proc/1/wchan"], user="0")
        cmdline = candidate.container.exec_run(["cat", "/proc/1/cmdline"], user="0")
    except docker.errors.APIError:
        return None
    # cat exits 1 when the kernel hides wchan; the status before it still counts.
    if not status.output or b"SigCgt" not in status.output:
        return None
    argv = cmdline.output if cmdline.exit_code == 0 and cmdline.output else b""
    return parse_pid1(status.output.decode("utf-8", "replace"), argv)


@dataclass(frozen=True)
class Stop:
    """How the wait after SIGTERM ended: ``code`` is None while the container runs."""

    code: int | None
    seconds: float
    pid1: Pid1 | None = None  # PID 1 as read before the signal, if it could be
    gone: bool = False  # the container was removed under the wait


class ExitsAfterSigterm:
    """The container exits after SIGTERM; the wait ends at once when PID 1 cannot catch it."""

    # The engine's own wait blocks for this long in each look, so no pause is needed.
    interval = 0.0
    engine_wait = 0.2

    def __init__(self, candidate: Candidate, sent: float, pid1: Pid1 | None) -> None:
        self.candidate = candidate
        self.sent = sent
        self.pid1 = pid1

    def check(self) -> Stop | None:
        try:
            status = self.candidate.container.wait(timeout=self.engine_wait)
            return Stop(int(status.get("StatusCode", -1)), time.monotonic() - self.sent)
        except (requests.exceptions.ConnectionError, requests.exceptions.ReadTimeout):
            pass
        except docker.errors.NotFound:
            return Stop(None, time.monotonic() - self.sent, gone=True)
        elapsed = time.monotonic() - self.sent
        # The look at the engine above gives the signal its chance to act first.
        if self.pid1 is not None and not self.pid1.handles_sigterm:
            return Stop(None, elapsed, self.pid1)
        return None

    def timed_out(self) -> Stop:
        return Stop(None, time.monotonic() - self.sent, self.pid1)


def probe_stops_promptly(ctx: RuntimeContext) -> Finding:
    candidate, spawner = ctx.candidate, ctx.profile.spawner
    grace = grace_seconds(spawner)
    if candidate.exit_code() is not None:
        return STOPS_PROMPTLY.skipped("the container had already exited")
    # Read before the signal: a Python server that is shutting down has already reset
    # its handlers, so a look after it would blame a server that is merely slow.
    pid1 = read_pid1(candidate)
    sent = time.monotonic()
    try:
        candidate.container.kill(signal="SIGTERM")
    except docker.errors.APIError as exc:
        return STOPS_PROMPTLY.skipped(f"SIGTERM could not be sent: {exc.__class__.__name__}")
    stop = wait_for(
        ExitsAfterSigterm(candidate, sent, pid1), deadline=sent + WAIT_SECONDS, cancel=ctx.cancel
    )
    if stop is None:
        return STOPS_PROMPTLY.skipped("the validation was cancelled")
    if stop.gone:
        return STOPS_PROMPTLY.skipped("the container was removed before it exited")
    if stop.code is not None:
        return STOPS_PROMPTLY.passed(
            f"exited with code {stop.code} {stop.seconds:.1f} s after SIGTERM "
            f"({spawner}'s grace period before SIGKILL: {grace:g} s)"
        )
    cost = f"every stop waits out {spawner}'s {grace:g} s grace period and ends in SIGKILL"
    if spawner.lower() == "dockerspawner":
        # DockerSpawner runs every engine call on one shared thread (dockerspawner.py
        # executor, ThreadPoolExecutor(1)): a slow stop holds up other users' spawns.
        cost += ", and DockerSpawner's other users' spawns and stops queue behind it"
    if stop.pid1 is not None and not stop.pid1.handles_sigterm:
        return STOPS_PROMPTLY.warned(
            f"PID 1 ({stop.pid1.command}) has no SIGTERM handler, so the kernel drops the "
            f"hub's stop signal (still running {stop.seconds:.1f} s after it); {cost}"
        )
    return STOPS_PROMPTLY.warned(f"still running {stop.seconds:.1f} s after SIGTERM; {cost}")


STOPS_PROMPTLY = Check(
    id="stops-promptly",
    title="The server exits promptly on the hub's SIGTERM",
    stage=Stage.RUNTIME,
    detection="At the end of the spawn, SIGTERM is sent to the container and the time to its exit measured, up to Docker's 10 s grace period (the spawner's own, named in the report: DockerSpawner Docker's 10 s, KubeSpawner delete_grace_period 1 s); /proc/1/status, read before the signal, shows whether PID 1 can catch SIGTERM at all, so an ignored signal is known without waiting out the grace period. Warns, never fails.",
    cause=(
        "The hub stops a server with SIGTERM, then SIGKILL after a grace period. A PID 1 "
        "without a SIGTERM handler (a shell entrypoint that runs the server without exec) "
        "never gets the signal: every stop costs the grace period, the server cannot shut "
        "down cleanly, and on DockerSpawner, whose engine calls share one thread, other "
        "users' spawns wait behind it."
    ),
    fix=(
        'End the entrypoint script with exec "$@" so the server becomes PID 1, or run an '
        'init that forwards signals: ENTRYPOINT ["tini", "-g", "--", "/entrypoint.sh"] '
        "(DockerSpawner: extra_host_config={'init': True})."
    ),
    evidence=("dockerspawner PR#15", "jupyterhub PR#135", "moby#33319", "tini#8"),
    needs=("server-starts",),
    probe=probe_stops_promptly,
)
