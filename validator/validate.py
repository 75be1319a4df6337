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
from validator.checks.singleuser import ExecContext
from validator.findings import Finding, Report
from validator.image import ImageInfo, docker_client, fetch, locate
from validator.options import Options
from validator.profiles import Profile
from validator.reference import ImageRef, parse_reference
from validator.registry.progress import observer_for
from validator.runtime.sandbox import Sandbox
from validator.runtime.stage import runtime_findings

log = logging.getLogger(__name__)


def run_user(profile: Profile) -> str | None:
    """The ``--user`` a hub with this profile would give the container."""
    if profile.uid is None:
        return None
    return f"{profile.uid}:{profile.gid}" if profile.gid is not None else str(profile.uid)


def _exec_and_runtime(
    sandbox: Sandbox, image: ImageInfo, profile: Profile, options: Options, outcomes: Outcomes
) -> None:
    """The version check and the runtime probes, started together.

    Importing jupyterhub-singleuser takes seconds, and so does starting the server; both
    run at once. When the version check fails, the spawn is cancelled and its stage
    skipped: the first failure is the cause, the rest would repeat it.
    """
    user = run_user(profile)
    if options.static_only:
        _run_exec(ExecContext(sandbox, image, profile, user), outcomes)
        outcomes.skip_all(RUNTIME, "runtime probes were not asked for")
        return
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
            _run_exec(ExecContext(sandbox, image, profile, user, on_started=spawn), outcomes)
        except BaseException:
            cancel.set()
            raise
        # The runtime stage ran ahead; its first check's needs decide whether it counts.
        why = outcomes.unmet(RUNTIME[0])
        if why is not None or not spawned:
            cancel.set()
            outcomes.skip_all(RUNTIME, why or "jupyterhub-singleuser cannot start")
            return
        for finding in spawned[0].result():
            outcomes.add(finding)


def _run_exec(ctx: ExecContext, outcomes: Outcomes) -> None:
    for check in EXEC:
        outcomes.run(check, ctx)


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
        with Sandbox(client, keep=options.keep) as sandbox:
            _exec_and_runtime(sandbox, image, profile, options, outcomes)
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
