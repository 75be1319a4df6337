"""The runtime stage: start the server as the hub would, once per command mode, and probe it.

The candidate runs on an internal Docker network of its own (no route out unless
asked); the stub hub listens on that network's gateway, in this process.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import docker.errors

from validator.checks import CATALOG, Stage, tail
from validator.checks.runtime import (
    HUB_CONTACT,
    LISTEN_ADDRESS,
    MOUNT_WRITABLE,
    SERVER_STARTS,
    STARTUP_TIME,
    diagnose,
)
from validator.findings import Finding
from validator.image import ImageInfo
from validator.options import Options
from validator.profiles import CommandMode, Profile
from validator.runtime.hubstub import StubHub
from validator.runtime.probes import (
    probe_home_writable,
    probe_hub_auth,
    probe_kernel,
    probe_mount_writable,
    probe_server_api,
    probe_stability,
    probe_token_auth,
)
from validator.runtime.sandbox import Sandbox
from validator.runtime.spawn import (
    Candidate,
    UpResult,
    hub_environment,
    mode_label,
    start_candidate,
    wait_until_up,
)

log = logging.getLogger(__name__)

# jupyter_server (and notebook 6) print this once the HTTP port is bound.
READY_BANNER = "is running at"


def _timed(fn: Callable[[], Finding]) -> Finding:
    started = time.monotonic()
    return fn().with_duration(time.monotonic() - started)


def _skip_rest(done: list[Finding], why: str) -> list[Finding]:
    seen = {f.check_id for f in done}
    return done + [
        c.skipped(why) for c in CATALOG.values() if c.stage is Stage.RUNTIME and c.id not in seen
    ]


def _not_up(candidate: Candidate, up: UpResult, profile: Profile, hub: StubHub) -> list[Finding]:
    logs = candidate.logs()
    cause = diagnose(logs)
    evidence = tail(logs) or None
    elapsed = time.monotonic() - candidate.started_at
    if up.exit_code is not None:
        message = f"the container exited with code {up.exit_code} after {elapsed:.1f} s"
        if up.exit_code == 0 and cause is None:
            message += " (its command finished instead of serving)"
        if cause:
            message += f": {cause.cause}"
        return _skip_rest(
            [SERVER_STARTS.failed(message, fix=cause.fix if cause else None, evidence=evidence)],
            "the server did not start",
        )
    if up.listeners is not None and not up.timed_out:
        shown = ", ".join(str(x) for x in up.listeners)
        return _skip_rest(
            [
                SERVER_STARTS.failed(
                    f"the server started but the hub cannot reach it on port {candidate.port}",
                    evidence=evidence,
                ),
                LISTEN_ADDRESS.failed(
                    f"it listens on {shown}; the hub connects to {candidate.ip}:{candidate.port}",
                    evidence=evidence,
                ),
            ],
            "the server is unreachable",
        )
    findings = []
    message = f"no answer at {candidate.prefix}api within the hub's http_timeout ({profile.http_timeout} s)"
    if not hub.contacted:
        message += "; it never contacted the hub API"
    if cause:
        message += f": {cause.cause}"
    findings.append(
        SERVER_STARTS.failed(message, fix=cause.fix if cause else None, evidence=evidence)
    )
    findings.append(STARTUP_TIME.failed(f"no answer within {profile.http_timeout} s"))
    if up.listeners:
        shown = ", ".join(str(x) for x in up.listeners)
        findings.append(LISTEN_ADDRESS.failed(f"listening sockets: {shown}", evidence=evidence))
    return _skip_rest(findings, "the server did not answer")


def _startup_time(seconds: float, profile: Profile) -> Finding:
    limit = profile.http_timeout
    message = f"first answer after {seconds:.1f} s (hub http_timeout {limit} s)"
    if seconds > limit:
        return STARTUP_TIME.failed(message)
    if seconds > limit * 2 / 3:
        return STARTUP_TIME.warned(message + ": close to the limit")
    return STARTUP_TIME.passed(message)


def _hub_contact(hub: StubHub) -> Finding:
    if hub.contacted:
        return HUB_CONTACT.passed(f"the server called the hub API ({hub.contact_count}x)")
    return HUB_CONTACT.failed("the server never called JUPYTERHUB_API_URL")


def _server_uid(candidate: Candidate, profile: Profile) -> int | None:
    for listener in candidate.listeners() or []:
        if listener.port == candidate.port:
            return listener.uid
    return profile.uid


def probe_mode(
    sandbox: Sandbox,
    image: ImageInfo,
    profile: Profile,
    options: Options,
    mode: CommandMode,
    *,
    network: str,
    hub: StubHub,
    token: str,
    user: str | None,
    cancel: threading.Event,
) -> list[Finding]:
    env = hub_environment(profile, api_url=hub.api_url, token=token)
    started = time.monotonic()
    try:
        candidate = start_candidate(
            sandbox, image, profile, mode, network=network, env=env, token=token, user=user
        )
    except docker.errors.APIError as exc:
        message = str(getattr(exc, "explanation", None) or exc)
        cause = diagnose(message)
        first = SERVER_STARTS.failed(
            "the engine could not start the container" + (f": {cause.cause}" if cause else ""),
            fix=cause.fix if cause else None,
            evidence=message[:500],
        )
        return _skip_rest(
            [first.with_duration(time.monotonic() - started)], "the container did not start"
        )

    up = wait_until_up(
        candidate, float(profile.http_timeout), ready_banner=READY_BANNER, cancel=cancel
    )
    if cancel.is_set():
        return []
    if up.seconds is None:
        findings = _not_up(candidate, up, profile, hub)
        findings[0] = findings[0].with_duration(time.monotonic() - started)
        return findings

    findings = [
        SERVER_STARTS.passed(f"answered {up.status} at {candidate.prefix}api").with_duration(
            up.seconds
        ),
        _startup_time(up.seconds, profile),
        LISTEN_ADDRESS.passed(
            f"reachable from outside the container at {candidate.ip}:{candidate.port}"
        ),
    ]
    mount = profile.mount_path
    probes: list[Callable[[], Finding]] = [
        lambda: probe_server_api(candidate),
        lambda: probe_hub_auth(candidate, hub.oauth_authorize_path),
        lambda: probe_token_auth(candidate),
        lambda: _hub_contact(hub),
        lambda: probe_kernel(candidate, timeout=max(30.0, profile.http_timeout)),
        lambda: probe_home_writable(candidate),
        (
            (lambda: probe_mount_writable(candidate, mount, _server_uid(candidate, profile)))
            if mount
            else (lambda: MOUNT_WRITABLE.skipped("no mount path given (--mount-path)"))
        ),
    ]
    for probe in probes:
        if cancel.is_set():
            return []
        findings.append(_timed(probe))
        if candidate.exit_code() is not None:
            # It died under the probes: what comes next would only repeat that.
            findings.append(probe_stability(candidate, time.monotonic()))
            return _skip_rest(findings, "the container exited during the probes")
    # The window starts once the probes are done: some images die soon after start.
    findings.append(
        _timed(lambda: probe_stability(candidate, time.monotonic() + options.stable_window))
    )
    sandbox.remove_container(candidate.container)
    return findings


def _label(findings: list[Finding], mode: CommandMode) -> list[Finding]:
    return [dataclasses.replace(f, variant=mode_label(mode)) for f in findings]


def runtime_findings(
    sandbox: Sandbox,
    image: ImageInfo,
    profile: Profile,
    options: Options,
    user: str | None,
    cancel: threading.Event | None = None,
) -> list[Finding]:
    """Runtime findings for every command mode; [] when cancelled."""
    cancel = cancel or threading.Event()
    network = sandbox.network(egress=options.allow_egress)
    network.reload()
    gateway = network.attrs["IPAM"]["Config"][0]["Gateway"]
    modes = profile.command_modes

    def run(mode: CommandMode) -> list[Finding]:
        # A stub hub per spawn, so "the server contacted the hub" is this server's record.
        token = secrets.token_hex(32)
        with StubHub(
            profile.hub_version, profile.user_name, profile.server_name, token, bind_host=gateway
        ) as hub:
            return probe_mode(
                sandbox,
                image,
                profile,
                options,
                mode,
                network=network.name,
                hub=hub,
                token=token,
                user=user,
                cancel=cancel,
            )

    if len(modes) == 1:
        return run(modes[0])
    # Both spawns at once: they share nothing, and it halves the wait.
    with ThreadPoolExecutor(max_workers=len(modes)) as pool:
        results = list(pool.map(run, modes))
    return [f for mode, found in zip(modes, results, strict=False) for f in _label(found, mode)]
