"""The runtime stage: start the server as the hub would, once per command mode, and probe it.

The candidate runs on an internal Docker network of its own (no route out unless
asked); the stub hub listens on that network's gateway, in this process, and the
network's fence (runtime.isolation) lets the candidate reach that port of the host only.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

import docker.errors

from validator.checks import RUNTIME
from validator.checks.base import Outcomes, advisory
from validator.checks.runtime import RuntimeContext
from validator.checks.runtime.server import SERVER_STARTS, STABILITY, engine_refused, stays_up
from validator.checks.runtime.stopping import STOPS_PROMPTLY
from validator.findings import Finding
from validator.image import ImageInfo
from validator.options import Options, wait_limit
from validator.profiles import CommandMode, Profile
from validator.runtime.cancel import linked
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


def for_mode(findings: list[Finding], profile: Profile, mode: CommandMode) -> list[Finding]:
    """One mode's findings as the report shows them: labelled, an advisory mode's as warnings.

    The label is only needed when the profile spawns more than one mode; an advisory
    mode's failures do not decide the verdict (they concern, e.g., the job API only).
    """
    if mode in profile.advisory_command_modes:
        findings = [advisory(f, mode) for f in findings]
    if len(profile.all_command_modes) > 1:
        findings = [dataclasses.replace(f, variant=mode_label(mode)) for f in findings]
    return findings


class Spawns:
    """The runtime stage of one validation: one network, one hub-like spawn per call."""

    def __init__(
        self,
        sandbox: Sandbox,
        image: ImageInfo,
        profile: Profile,
        options: Options,
        user: str | None,
    ) -> None:
        self.sandbox, self.image, self.profile = sandbox, image, profile
        self.options, self.user = options, user
        self._lock = threading.Lock()
        self._network: tuple[str, str] | None = None  # name, gateway
        self._prepared: Future[tuple[str, str]] | None = None

    def prepare(self) -> None:
        """Begin making the network (and its fence) now, in a thread of its own.

        The version check's container takes a second or more to start; the network
        costs a quarter of a second of engine and firewall work that no longer waits
        behind it. A failure surfaces in ``network()``, where the spawn asks for it.
        """
        with self._lock:
            if self._prepared is None and self._network is None:
                pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jhiv-net")
                self._prepared = pool.submit(self.network)
                pool.shutdown(wait=False)

    def network(self) -> tuple[str, str]:
        """The candidates' internal network, made by the first spawn that needs it."""
        with self._lock:
            if self._network is None:
                with self.sandbox.creating():
                    network = self.sandbox.network(egress=self.options.allow_egress)
                gateway = network.attrs["IPAM"]["Config"][0]["Gateway"]
                self._network = (str(network.name), str(gateway))
            return self._network

    def run(self, mode: CommandMode, cancel: threading.Event) -> list[Finding]:
        """Spawn under ``mode`` and probe; [] when cancelled. Findings are not labelled."""
        name, gateway = self.network()
        fence = self.sandbox.fences[name]
        # A fresh server name per spawn where the platform draws one: the stub hub, the
        # environment and the probes all see the same one.
        profile = self.profile.for_spawn()
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
            # Revoked when the sandbox closes, with the rest of the fence.
            fence.allow(hub.port)
            return probe_mode(
                self.sandbox,
                self.image,
                profile,
                self.options,
                mode,
                network=name,
                hub=hub,
                token=token,
                user=self.user,
                cancel=cancel,
            )


def runtime_findings(
    sandbox: Sandbox,
    image: ImageInfo,
    profile: Profile,
    options: Options,
    user: str | None,
    cancel: threading.Event | None = None,
) -> list[Finding]:
    """Runtime findings for every command mode, advisory ones included; [] when cancelled."""
    cancel = cancel or linked()
    spawns = Spawns(sandbox, image, profile, options, user)
    modes = profile.all_command_modes
    # All spawns at once: they share nothing, and it cuts the wait.
    with ThreadPoolExecutor(max_workers=len(modes)) as pool:
        results = list(pool.map(lambda mode: spawns.run(mode, cancel), modes))
    return [
        f
        for mode, found in zip(modes, results, strict=True)
        for f in for_mode(found, profile, mode)
    ]
