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
from concurrent.futures import ThreadPoolExecutor

import docker.errors

from validator.checks import RUNTIME
from validator.checks.base import Outcomes
from validator.checks.runtime import RuntimeContext
from validator.checks.runtime.server import SERVER_STARTS, STABILITY, engine_refused, stays_up
from validator.checks.runtime.stopping import STOPS_PROMPTLY
from validator.findings import Finding
from validator.image import ImageInfo
from validator.options import Options, wait_limit
from validator.profiles import CommandMode, Profile
from validator.runtime.hubstub import StubHub
from validator.runtime.sandbox import Sandbox
from validator.runtime.spawn import hub_environment, mode_label, start_candidate, wait_until_up

log = logging.getLogger(__name__)

# jupyter_server (and notebook 6) print this once the HTTP port is bound.
READY_BANNER = "is running at"


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
    """Start the server, wait for it as the hub does, then run the RUNTIME checks in order."""
    outcomes = Outcomes(profile, RUNTIME)
    env = hub_environment(profile, hub, token=token)
    started = time.monotonic()
    try:
        candidate = start_candidate(
            sandbox, image, profile, mode, network=network, env=env, token=token, user=user, hub=hub
        )
    except docker.errors.APIError as exc:
        refused = engine_refused(exc).with_duration(time.monotonic() - started)
        outcomes.add(refused, blocks="the container did not start")
        outcomes.skip_all(RUNTIME, "the container did not start")
        return outcomes.findings

    up = wait_until_up(
        candidate,
        wait_limit(profile.http_timeout, options),
        ready_banner=READY_BANNER,
        cancel=cancel,
    )
    if cancel.is_set():
        return []
    ctx = RuntimeContext(
        candidate, hub, profile, options, up, spawn_started=started, cancel=cancel, image=image
    )
    for check in RUNTIME:
        if cancel.is_set():
            return []
        outcomes.run(check, ctx)
        # The probes between the start and the stability wait talk to a running server;
        # once it has died under them, what comes next would only repeat that.
        between = check.probe is not None and check not in (
            SERVER_STARTS,
            STABILITY,
            STOPS_PROMPTLY,
        )
        first = ctx.first_answer
        if first is not None and between and candidate.exit_code() is not None:
            outcomes.add(stays_up(candidate, first, time.monotonic()))
            outcomes.skip_all(RUNTIME, "the container exited during the probes")
            return outcomes.findings
    if cancel.is_set():
        return []
    if up.seconds is not None:
        sandbox.remove_container(candidate.container)
    return outcomes.findings


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
            profile.hub_version,
            profile.user_name,
            profile.server_name,
            token,
            bind_host=gateway,
            internal_ssl=profile.internal_ssl,
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
