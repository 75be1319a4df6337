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
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timezone

import docker

from validator import __version__
from validator.cache import CacheKey, ResultCache
from validator.checks import CATALOG, Stage
from validator.checks import singleuser as singleuser_checks
from validator.checks.command import check_command, check_entrypoint_form
from validator.checks.environment import check_home_path
from validator.checks.platform import check_platform
from validator.checks.ports import check_port_not_pinned
from validator.checks.size import check_image_size
from validator.checks.user import check_image_user
from validator.findings import Finding, Report, Status
from validator.image import ImageInfo, docker_client, fetch, locate
from validator.options import Options
from validator.profiles import Profile
from validator.reference import ImageRef, parse_reference
from validator.registry.progress import observer_for
from validator.runtime.sandbox import Sandbox
from validator.runtime.stage import runtime_findings

log = logging.getLogger(__name__)

StaticCheck = Callable[[ImageInfo, Profile], Finding]

STATIC_CHECKS: tuple[StaticCheck, ...] = (
    check_platform,
    check_image_user,
    check_command,
    check_entrypoint_form,
    check_port_not_pinned,
    check_home_path,
    check_image_size,
)


def _timed(fn: Callable[[], Finding]) -> Finding:
    started = time.monotonic()
    finding = fn()
    return finding.with_duration(time.monotonic() - started)


def run_user(profile: Profile) -> str | None:
    """The ``--user`` a hub with this profile would give the container."""
    if profile.uid is None:
        return None
    return f"{profile.uid}:{profile.gid}" if profile.gid is not None else str(profile.uid)


def static_findings(image: ImageInfo, profile: Profile) -> list[Finding]:
    return [_timed(lambda fn=fn: fn(image, profile)) for fn in STATIC_CHECKS]  # type: ignore[misc]


def singleuser_findings(
    sandbox: Sandbox,
    image: ImageInfo,
    profile: Profile,
    on_started: Callable[[], None] | None = None,
) -> list[Finding]:
    timeout = float(profile.http_timeout)
    run = sandbox.run_to_end(
        image.id,
        ["jupyterhub-singleuser", "--version"],
        user=run_user(profile),
        timeout=timeout,
        allow_privilege_escalation=profile.allow_privilege_escalation,
        give_up_when=singleuser_checks.started_a_server,
        on_started=on_started,
    )
    findings = singleuser_checks.interpret(run, profile, timeout=timeout)
    # One container answered all three; its time is shared out evenly.
    share = run.seconds / len(findings)
    return [f.with_duration(share) for f in findings]


def _exec_and_runtime(
    sandbox: Sandbox, image: ImageInfo, profile: Profile, options: Options
) -> list[Finding]:
    """The version check and the runtime probes, started together.

    Importing jupyterhub-singleuser takes seconds, and so does starting the server; both
    run at once. When the version check fails, the spawn is cancelled and its stage
    skipped: the first failure is the cause, the rest would repeat it.
    """
    user = run_user(profile)
    if options.static_only:
        return [
            *singleuser_findings(sandbox, image, profile),
            *_skipped(Stage.RUNTIME, "runtime probes were not asked for"),
        ]
    cancel = threading.Event()
    spawned: list[Future[list[Finding]]] = []
    with ThreadPoolExecutor(max_workers=1) as pool:

        def spawn() -> None:
            spawned.append(
                pool.submit(runtime_findings, sandbox, image, profile, options, user, cancel)
            )

        try:
            # The spawn starts once the version container runs: an image without the
            # command is judged from the engine's refusal alone, in well under a second.
            exec_findings = singleuser_findings(sandbox, image, profile, on_started=spawn)
        except BaseException:
            cancel.set()
            raise
        blocking = [f for f in exec_findings if f.status is Status.FAIL and f.check_id in _GATES]
        if blocking or not spawned:
            cancel.set()
            return [*exec_findings, *_skipped(Stage.RUNTIME, "jupyterhub-singleuser cannot start")]
        return [*exec_findings, *spawned[0].result()]


# A failure of these means no server can start; a version failure still lets it run.
_GATES = ("singleuser-installed", "singleuser-imports")


def _skipped(stage: Stage, why: str) -> list[Finding]:
    return [check.skipped(why) for check in CATALOG.values() if check.stage is stage]


def validate(
    reference: str | ImageRef,
    profile: Profile,
    options: Options | None = None,
    *,
    client: docker.DockerClient | None = None,
    cache: ResultCache | None = None,
) -> Report:
    """Validate one image against one profile. Raises ValidatorError for tool errors.

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

    for finding in static_findings(image, profile):
        report.add(finding)
    if report.status_of("platform") is Status.FAIL:
        why = "the image cannot run on this platform"
        later = [*_skipped(Stage.EXEC, why), *_skipped(Stage.RUNTIME, why)]
    else:
        with Sandbox(client, keep=options.keep) as sandbox:
            later = _exec_and_runtime(sandbox, image, profile, options)
    for finding in later:
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
