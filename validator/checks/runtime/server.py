"""Does the server start, answer in time, listen where the hub connects and stay up?

The wait for the first answer happens before these probes run (validator.runtime.stage
starts and waits, as a hub does); ``probe_server_starts`` judges how it ended and
answers server-starts, startup-time and listen-address at once.
"""

from __future__ import annotations

import threading
import time

import docker.errors
import requests

from validator.checks.base import Check, Observed, Stage, tail
from validator.checks.diagnosis import diagnose
from validator.checks.runtime import RuntimeContext
from validator.checks.runtime._http import get
from validator.findings import Finding
from validator.options import wait_limit
from validator.profiles import Profile
from validator.runtime.spawn import Candidate
from validator.runtime.tls import tls_cause
from validator.runtime.waiting import StaysUp, wait_for


def engine_refused(exc: docker.errors.APIError) -> Finding:
    """server-starts when the engine would not even start the container."""
    message = str(getattr(exc, "explanation", None) or exc)
    cause = diagnose(message)
    return SERVER_STARTS.failed(
        "the engine could not start the container" + (f": {cause.cause}" if cause else ""),
        fix=cause.fix if cause else None,
        evidence=message[:500],
    )


def probe_server_starts(ctx: RuntimeContext) -> Observed:
    candidate, up = ctx.candidate, ctx.up
    if up.seconds is None:
        findings, why = _not_up(ctx)
        first = findings[0].with_duration(time.monotonic() - ctx.spawn_started)
        return Observed((first, *findings[1:]), blocks=why)
    return Observed(
        (
            SERVER_STARTS.passed(f"answered {up.status} at {candidate.prefix}api").with_duration(
                up.seconds
            ),
            _startup_time(up.seconds, ctx.profile),
            LISTEN_ADDRESS.passed(
                f"reachable from outside the container at {candidate.ip}:{candidate.port}"
            ),
        )
    )


def _not_up(ctx: RuntimeContext) -> tuple[list[Finding], str]:
    """The findings for a server that never answered, and why the rest cannot run."""
    candidate, up, profile = ctx.candidate, ctx.up, ctx.profile
    logs = candidate.logs()
    cause = diagnose(logs)
    evidence = tail(logs) or None
    elapsed = time.monotonic() - candidate.started_at
    # Internal SSL: a server that ignores JUPYTERHUB_SSL_* (validator.runtime.tls).
    tls = tls_cause(up, ctx.hub.record().tls_refusals, candidate.port)
    if tls is not None:
        failed = SERVER_STARTS.failed(tls.message, fix=tls.fix, evidence=evidence)
        return [failed], "the server cannot be reached over TLS"
    if up.exit_code is not None:
        message = f"the container exited with code {up.exit_code} after {elapsed:.1f} s"
        fix = cause.fix if cause else None
        if candidate.oom_killed():
            message += f": {OUT_OF_MEMORY}"
            fix = OUT_OF_MEMORY_FIX
        elif up.exit_code == 0 and cause is None:
            message += " (its command finished instead of serving)"
        elif cause:
            message += f": {cause.cause}"
        failed = SERVER_STARTS.failed(message, fix=fix, evidence=evidence)
        return [failed], "the server did not start"
    if up.listeners is not None and not up.timed_out:
        shown = ", ".join(str(x) for x in up.listeners)
        return [
            SERVER_STARTS.failed(
                f"the server started but the hub cannot reach it on port {candidate.port}",
                evidence=evidence,
            ),
            LISTEN_ADDRESS.failed(
                f"it listens on {shown}; the hub connects to {candidate.ip}:{candidate.port}",
                evidence=evidence,
            ),
        ], "the server is unreachable"
    waited = wait_limit(profile.http_timeout, ctx.options)
    message = f"no answer at {candidate.prefix}api within {waited:.0f} s"
    if waited < profile.http_timeout:
        # The platform would keep its user waiting for longer; nobody waits that long.
        message += f" (the hub would wait {profile.http_timeout} s; --max-wait ends it here)"
    else:
        message += " (the hub's http_timeout)"
    if not ctx.hub.contacted:
        message += "; it never contacted the hub API"
    flood = flooded(candidate.log_bytes())
    if flood:
        message += f"; {flood}"
    if cause:
        message += f": {cause.cause}"
    findings = [
        SERVER_STARTS.failed(message, fix=cause.fix if cause else None, evidence=evidence),
        STARTUP_TIME.failed(f"no answer within {waited:.0f} s"),
    ]
    if up.listeners:
        shown = ", ".join(str(x) for x in up.listeners)
        findings.append(LISTEN_ADDRESS.failed(f"listening sockets: {shown}", evidence=evidence))
    return findings, "the server did not answer"


# The kernel's OOM killer ended the container at its memory limit (State.OOMKilled).
OUT_OF_MEMORY = "it ran out of memory: the kernel killed it at the container's memory limit"
OUT_OF_MEMORY_FIX = (
    "Find what allocates without bound at start (the entrypoint, a preloaded data set); "
    "a hub limits memory too (mem_limit, the pod's resources.limits.memory)."
)
# Output beyond this is worth naming: a server that logs this much is busy doing so.
FLOOD_BYTES = 10_000_000


def flooded(written: int) -> str:
    """A note on an output flood, or "" when the container wrote little."""
    if written < FLOOD_BYTES:
        return ""
    return f"it wrote {written / 1e6:,.0f} MB to stdout and stderr meanwhile (a log flood)"


def _startup_time(seconds: float, profile: Profile) -> Finding:
    limit = profile.http_timeout
    message = f"first answer after {seconds:.1f} s (hub http_timeout {limit} s)"
    if seconds > limit:
        return STARTUP_TIME.failed(message)
    if seconds > limit * 2 / 3:
        return STARTUP_TIME.warned(message + ": close to the limit")
    return STARTUP_TIME.passed(message)


def probe_stability(ctx: RuntimeContext) -> Finding:
    # The window counts from the first answer and the other probes ran inside it, so a
    # good image waits only for what is left of it.
    first = ctx.first_answer
    if first is None:
        return STABILITY.skipped("the server never answered")
    return stays_up(ctx.candidate, first, first + ctx.options.stable_window, cancel=ctx.cancel)


def stays_up(
    candidate: Candidate,
    first_answer: float,
    until: float,
    *,
    cancel: threading.Event | None = None,
) -> Finding:
    """Still running and answering at ``until`` (monotonic), or exited before it.

    ``first_answer`` (monotonic) is when the server first answered: the report says how
    long after it the server was watched.
    """
    ended = wait_for(StaysUp(candidate), deadline=until, cancel=cancel)
    watched = time.monotonic() - first_answer
    if ended is None:
        return STABILITY.skipped("the validation was cancelled")
    if ended.code is not None:
        logs = candidate.logs()
        cause = diagnose(logs)
        message = (
            f"the container exited with code {ended.code} {watched:.1f} s after its first answer"
        )
        if candidate.oom_killed():
            message += f": {OUT_OF_MEMORY}"
        last = _last_line(logs)
        if last:
            message += f"; its last log line: {last!r}"
        if cause:
            message += f"; {cause.cause}"
        return STABILITY.failed(
            message, fix=cause.fix if cause else None, evidence=tail(logs) or None
        )
    try:
        response = get(candidate.url + "api")
    except requests.RequestException as exc:
        return STABILITY.failed(
            f"the server stopped answering {watched:.1f} s after its first answer: "
            f"{exc.__class__.__name__}"
        )
    if response.status_code >= 500:
        return STABILITY.failed(
            f"the server answers {response.status_code} {watched:.1f} s after its first answer"
        )
    return STABILITY.passed(f"still up and answering {watched:.1f} s after its first answer")


def _last_line(logs: str, limit: int = 160) -> str:
    lines = [line.strip() for line in logs.splitlines() if line.strip()]
    return lines[-1][:limit] if lines else ""


SERVER_STARTS = Check(
    id="server-starts",
    title="The server starts and answers the hub's readiness poll",
    stage=Stage.RUNTIME,
    detection="Starts the container with the hub's environment, user, volumes and command on an internal network, then polls {prefix}api like the hub (any answer below 500 counts); a container that exits, or announces itself while listening elsewhere, is reported at once.",
    cause=(
        "The hub polls {prefix}api until any answer below 500 arrives; a container that "
        "exits, or a server that never listens where JUPYTERHUB_SERVICE_URL says, fails "
        "the spawn."
    ),
    fix="See the named cause below; the container log is in the evidence.",
    evidence=("dockerspawner#59", "z2jh#1374"),
    # A server cannot start when jupyterhub-singleuser cannot (a version warning can).
    needs=("singleuser-installed", "singleuser-imports"),
    probe=probe_server_starts,
)

STARTUP_TIME = Check(
    id="startup-time",
    title="The server answers well within the hub's http_timeout",
    stage=Stage.RUNTIME,
    detection="Time from container start to the first answer at {prefix}api; warns above 2/3 of the profile's http_timeout, fails above it.",
    cause=(
        "The hub gives up after http_timeout (30 s by default): heavy entrypoints, "
        "chown -R over home, or conda activation can push a start past it."
    ),
    fix=(
        "Do the slow work at build time (RUN), not in the entrypoint; avoid chown -R "
        "at start; or ask the platform for a longer http_timeout."
    ),
    evidence=("z2jh#1374",),
    needs=("server-starts",),
)

LISTEN_ADDRESS = Check(
    id="listen-address",
    title="The server listens where the hub connects",
    stage=Stage.RUNTIME,
    detection="The probes connect from outside the container's network namespace; when that fails, /proc/net/tcp{,6} in the container shows where the server listens instead.",
    cause=(
        "The hub (or its proxy) connects from outside the container to the port in "
        "JUPYTERHUB_SERVICE_URL; a server bound to 127.0.0.1 or another port is unreachable."
    ),
    fix="Remove --ip/--port from the command; let JUPYTERHUB_SERVICE_URL decide.",
    evidence=("dockerspawner#59", "kubespawner#311", "z2jh#1374", "jupyterhub#4450"),
    needs=("server-starts",),
)

STABILITY = Check(
    id="stability",
    title="The server stays up after it started",
    stage=Stage.RUNTIME,
    detection="The container must keep running and still answer {prefix}api at the end of the stability window (--stable-window, 10 s by default) counted from its first answer; the other probes run inside the window.",
    cause=(
        "Some images start, answer, then die (a wrapper exits, a post-start task fails, a "
        "watchdog kills them); a user's first steps (the redirect, loading JupyterLab, "
        "opening a notebook) take the first ten seconds, so a server that dies in them is "
        "broken for its user."
    ),
    fix='Make the server the container\'s main process: end the entrypoint with exec "$@".',
    evidence=("jupyterhub#3018",),
    needs=("server-starts",),
    probe=probe_stability,
)
