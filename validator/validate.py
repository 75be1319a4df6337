"""One validation, as named steps: reference -> profile -> image -> checks -> report.

This is the library entry point the CLI, the GitHub Action and the webhook service
share: ``validate(reference, profile, options) -> Report``.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timezone

import docker

from validator import __version__
from validator.cache import CacheKey, ResultCache
from validator.checks import EXEC, RUNTIME, STATIC
from validator.checks.base import Outcomes
from validator.checks.command import mode_problem
from validator.checks.singleuser import ExecContext, confirmed
from validator.findings import Finding, Report, Status
from validator.image import ImageInfo, docker_client, fetch, locate
from validator.options import Options, wait_limit
from validator.profiles import CommandMode, Profile
from validator.reference import ImageRef, parse_reference
from validator.registry.progress import observer_for
from validator.runtime.cancel import linked
from validator.runtime.sandbox import Limits, Sandbox
from validator.runtime.stage import Spawns, for_mode

log = logging.getLogger(__name__)


def run_user(profile: Profile) -> str | None:
    """The ``--user`` a hub with this profile would give the container."""
    if profile.uid is None:
        return None
    return f"{profile.uid}:{profile.gid}" if profile.gid is not None else str(profile.uid)


def _exec_and_runtime(
    sandbox: Sandbox, image: ImageInfo, profile: Profile, options: Options, outcomes: Outcomes
) -> None:
    """Each command mode's version check and its runtime probes, all modes at once.

    A mode's exec result gates only that mode's spawn, and only when it proves the
    server cannot start (the checks' needs say when): an image may fail one policy and
    still start under another.
    """
    modes = profile.all_command_modes
    spawns = (
        None
        if options.static_only
        else Spawns(sandbox, image, profile, options, user=run_user(profile))
    )
    if spawns is not None:
        spawns.prepare()
    # Linked to the process's cancel: a Ctrl-C reaches the waits in the worker threads.
    cancels = {mode: linked() for mode in modes}
    # Per mode, one thread for its short version container and one for its spawn.
    checks = ThreadPoolExecutor(max_workers=len(modes))
    spawning = ThreadPoolExecutor(max_workers=len(modes))

    def one(mode: CommandMode) -> list[Finding]:
        return _one_mode(sandbox, image, profile, options, mode, spawns, spawning, cancels[mode])

    try:
        results = list(checks.map(one, modes))
    except BaseException:
        for cancel in cancels.values():
            cancel.set()
        # No waiting for the workers on Ctrl-C: closing the sandbox removes their
        # containers, which ends their waits.
        checks.shutdown(wait=False, cancel_futures=True)
        spawning.shutdown(wait=False, cancel_futures=True)
        raise
    checks.shutdown()
    spawning.shutdown()
    for mode, found in zip(modes, results, strict=True):
        for finding in for_mode(found, profile, mode):
            outcomes.add(finding)


def _one_mode(
    sandbox: Sandbox,
    image: ImageInfo,
    profile: Profile,
    options: Options,
    mode: CommandMode,
    spawns: Spawns | None,
    pool: ThreadPoolExecutor,
    cancel: threading.Event,
) -> list[Finding]:
    """One mode's exec and runtime findings, unlabelled."""
    outcomes = Outcomes(profile, (*EXEC, *RUNTIME))
    spawned: list[Future[list[Finding]]] = []

    def spawn() -> None:
        if spawns is not None and not spawned:
            spawned.append(pool.submit(spawns.run, mode, cancel))

    # The spawn starts once the version container runs: an image without the command
    # is judged from the engine's refusal alone, in well under a second.
    ctx = ExecContext(
        sandbox,
        image,
        profile,
        run_user(profile),
        mode=mode,
        timeout=wait_limit(profile.http_timeout, options),
        on_started=spawn,
        spawn_follows=spawns is not None,
    )
    try:
        for check in EXEC:
            outcomes.run(check, ctx)
    except BaseException:
        cancel.set()
        raise
    if spawns is None:
        outcomes.skip_all(RUNTIME, "runtime probes were not asked for")
        return outcomes.findings
    # The spawn ran ahead; the first runtime check's needs decide whether it counts,
    # and a command the spawner cannot even build (DockerSpawner and no CMD) never runs.
    why = outcomes.unmet(RUNTIME[0])
    if why is None and _unbuildable(image, profile, mode):
        why = "the spawner cannot build this command (see command)"
    if why is not None:
        cancel.set()
        outcomes.skip_all(RUNTIME, why)
        return outcomes.findings
    # A run that is evidence only may not have started a container (the bare name is
    # missing) while the image's own command still can: spawn now.
    spawn()
    runtime = spawned[0].result()
    borne_out = _borne_out(outcomes.findings, runtime)
    if borne_out is not None:
        outcomes = Outcomes(profile, (*EXEC, *RUNTIME), borne_out)
        outcomes.skip_all(RUNTIME, outcomes.unmet(RUNTIME[0]) or "the server did not start")
        return outcomes.findings
    for finding in runtime:
        outcomes.add(finding)
    return outcomes.findings


def _unbuildable(image: ImageInfo, profile: Profile, mode: CommandMode) -> bool:
    cmd, entrypoint = tuple(image.cmd or ()), tuple(image.entrypoint or ())
    return mode_problem(cmd, entrypoint, profile.spawner, mode) is not None


def _borne_out(exec_found: list[Finding], runtime: list[Finding]) -> list[Finding] | None:
    """The exec findings with their evidence-only failures confirmed, when the server did
    not start either; None when there is nothing to confirm."""
    starts = next((f for f in runtime if f.check_id == RUNTIME[0].id), None)
    if starts is None or starts.status is not Status.FAIL:
        return None
    found = [confirmed(f, starts.message) for f in exec_found]
    if not any(found):
        return None
    return [new or old for new, old in zip(found, exec_found, strict=True)]


def validate(
    reference: str | ImageRef,
    profile: Profile,
    options: Options | None = None,
    *,
    client: docker.DockerClient | None = None,
    cache: ResultCache | None = None,
    limits: Limits | None = None,
) -> Report:
    """Validate one image against one profile. Raises ValidatorError for tool errors.

    ``limits`` bound every container the validation starts (the sandbox's defaults when
    None); the service sets them from its JHIV_SERVICE_CANDIDATE_* settings.

    With a ``cache``, a conclusive result for the same digest, settings and validator
    version is returned (``cached=True``) instead of validating again, and a new one is
    stored.
    """
    options = options or Options()
    started = time.monotonic()
    ref = parse_reference(reference) if isinstance(reference, str) else reference
    client = client or docker_client()
    report = Report(
        reference=ref.canonical,
        profile=profile.name,
        hub_version=profile.hub_version,
        validator_version=__version__,
        started_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        settings=profile.judged_under(),
    )
    source = locate(
        client, ref, pull_policy=options.pull, platform=profile.platform, access=options.registry
    )
    cached = _from_cache(cache, source.digest, ref, profile, options)
    if cached is not None:
        return cached
    image, digest = fetch(
        client,
        source,
        platform=profile.platform,
        access=options.registry,
        observer=observer_for(options.progress, sys.stderr),
    )
    report.image_id, report.digest, report.platform = image.id, digest, image.platform
    if source.digest is None:  # the digest was only known once pulled
        cached = _from_cache(cache, digest, ref, profile, options)
        if cached is not None:
            return cached
    log.info("Validating %s (image %s) for %s", ref.canonical, image.id[7:19], profile.name)

    outcomes = Outcomes(profile, (*STATIC, *EXEC, *RUNTIME))
    for check in STATIC:
        outcomes.run(check, image, profile)
    why = outcomes.unmet(EXEC[0])
    if why is not None:
        outcomes.skip_all((*EXEC, *RUNTIME), why)
    else:
        with Sandbox(client, keep=options.keep, limits=limits) as sandbox:
            _exec_and_runtime(sandbox, image, profile, options, outcomes)
            if sandbox.isolation is not None:  # a run condition, not a profile setting
                report.settings["isolation"] = sandbox.isolation
    for finding in outcomes.findings:
        report.add(finding)
    report.duration_s = round(time.monotonic() - started, 3)
    if cache is not None and report.digest is not None:
        cache.put(CacheKey.for_run(report.digest, profile, options, __version__), report)
    return report


def _from_cache(
    cache: ResultCache | None,
    digest: str | None,
    ref: ImageRef,
    profile: Profile,
    options: Options,
) -> Report | None:
    """A stored result for this digest, under the name the user gave this time."""
    # --keep asks for containers to inspect; a stored result would leave none.
    if cache is None or digest is None or options.no_cache or options.keep:
        return None
    report = cache.get(CacheKey.for_run(digest, profile, options, __version__))
    if report is None:
        return None
    log.info("Found a cached result for %s (%s)", ref.canonical, digest)
    return dataclasses.replace(report, reference=ref.canonical)
