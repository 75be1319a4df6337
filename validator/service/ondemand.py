"""Runs the validations asked for through the API (``POST /api/v1/validations``).

A small thread pool of its own, next to the webhook worker: the store holds the queue
(a request is written before the API answers 202), the pool only carries what this
process is running, and at start every request left queued or running is run again.
Each job decrypts its login once, pulls with it, and deletes it with the result.

A digest that already has a conclusive result for the same effective profile and
validator version (an earlier on-demand or webhook validation) is not validated again:
the job finishes at once with that report, marked ``cached`` and ``reused``. So that
"at once" holds while validations keep the pool busy (a hub's guard waits on it), a job
runs in two stages: a look-up pool resolves the tag and looks for a result, and only a
digest without one goes on to the validation pool.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from validator.errors import ValidatorError
from validator.options import Options
from validator.profiles import Profile
from validator.redact import redact_text
from validator.reference import ImageRef, parse_reference
from validator.registry.client import RegistryAccess
from validator.registry.credentials import Credentials, scrub
from validator.report.json import report_to_dict
from validator.service import jobs
from validator.service.metrics import Metrics
from validator.service.ondemand_store import OnDemandStore, RequestJob, Reusable, Target
from validator.service.runner import Runner
from validator.service.worker import describe

log = logging.getLogger(__name__)
T = TypeVar("T")

# Threads that resolve tags and look results up: registry round trips, no containers.
LOOKUP_THREADS = 4


@dataclass(frozen=True)
class _Pending:
    """A claimed job whose digest has no result yet: what its validation needs."""

    job: RequestJob
    pinned: ImageRef
    profile: Profile
    access: RegistryAccess
    digest: str
    key: str


def access_for(target: Target, job: RequestJob, image_registry: str) -> RegistryAccess:
    """The request's login for its registry (the image's when none is named)."""
    host = target.registry or image_registry
    logins: tuple[Credentials, ...] = ()
    if target.username and job.password:
        logins = (Credentials(host, target.username, job.password, "the request"),)
    insecure = frozenset({host}) if target.insecure else frozenset()
    return RegistryAccess(logins=logins, insecure=insecure)


class OnDemand:
    def __init__(
        self, store: OnDemandStore, runner: Runner, metrics: Metrics, concurrency: int
    ) -> None:
        self.store = store
        self.runner = runner
        self.metrics = metrics
        self.concurrency = max(1, concurrency)
        self._lookups: ThreadPoolExecutor | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._stopping = threading.Event()
        self._running = 0
        self._running_lock = threading.Lock()

    def start(self) -> None:
        self._lookups = ThreadPoolExecutor(LOOKUP_THREADS, thread_name_prefix="jhiv-od-lookup")
        self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="jhiv-ondemand")
        left = self.store.unfinished()
        if left:
            log.info("Running again %d on-demand validations left by the last stop", len(left))
        for public_id in left:
            self._lookups.submit(self._counted, self._look_then_queue, public_id)

    def submit(self, public_id: str) -> None:
        # Without a pool (tests that start no worker) the request waits in the store.
        if self._lookups is not None and not self._stopping.is_set():
            self._lookups.submit(self._counted, self._look_then_queue, public_id)

    def stop(self, grace: float = 10.0) -> None:
        """Take nothing new; give running jobs ``grace`` seconds, then remove their
        containers (the pools' threads are joined at exit: none may outlive a stop).
        Jobs cut off are queued again, with their logins, for the next start; a job
        dropped while it waited for the validation pool is still marked running, which
        the next start runs again too."""
        self._stopping.set()
        pools = [p for p in (self._lookups, self._pool) if p is not None]
        for pool in pools:
            pool.shutdown(wait=False, cancel_futures=True)
        deadline = time.monotonic() + grace
        while self._running and time.monotonic() < deadline:
            time.sleep(0.05)
        if self._running:
            log.info("Removing the containers of on-demand validations still running")
            self.runner.abort()
        for pool in pools:
            pool.shutdown(wait=True)

    def run(self, public_id: str) -> None:
        """Run one request to its outcome in this thread, both stages (the Celery
        engine's workers call this: their pool is the worker's own)."""
        pending = self._counted(self._look, public_id)
        if pending is not None:
            self._counted(self._validate, pending)

    def _look_then_queue(self, public_id: str) -> None:
        pending = self._look(public_id)
        if pending is None:
            return
        try:
            assert self._pool is not None
            self._pool.submit(self._counted, self._validate, pending)
        except RuntimeError:  # the pool shut down meanwhile: the next start runs it
            self.store.requeue(public_id)

    def _counted(self, stage: Callable[..., T], *args: Any) -> T:
        with self._running_lock:
            self._running += 1
        try:
            return stage(*args)
        finally:
            with self._running_lock:
                self._running -= 1

    def _look(self, public_id: str) -> _Pending | None:
        """Stage one: claim, resolve the tag, and finish with an earlier result if any;
        what is left to validate is returned."""
        try:
            job = self.store.claim(public_id)
        except Exception as exc:  # a missing key or the database away: recorded, not raised
            log.error("On-demand validation %s cannot start: %s", public_id, describe(exc))
            self.store.finish(public_id, digest=None, report=None, error=describe(exc))
            return None
        if job is None:
            return None
        digest: str | None = None
        try:
            target = job.target
            ref = parse_reference(target.image)
            profile = jobs.profile(target.profile).with_overrides(
                hub_version=target.hub_version, mount_path=target.mount_path
            )
            access = access_for(target, job, ref.registry)
            digest = ref.digest or self.runner.resolve(ref, access, profile.platform)
            key = jobs.validation_key(digest, profile)
            # Others' results only for a digest the registry gave with this job's login.
            earlier = self.store.reusable(key, job.owner, any_owner=ref.digest is None)
        except Exception as exc:
            self._failed(job, digest, None, exc)
            return None
        if earlier is not None:
            self._reuse(public_id, digest, key, earlier)
            return None
        pinned = ImageRef(ref.registry, ref.repository, digest=digest)
        return _Pending(job, pinned, profile, access, digest, key)

    def _validate(self, pending: _Pending) -> None:
        """Stage two: run the validator on the pinned digest."""
        job = pending.job
        if self._stopping.is_set():
            self.store.requeue(job.id)
            return
        log.info("Validating %s on demand for %s", job.target.image, pending.profile.name)
        options = Options(
            pull=jobs.SERVICE_OPTIONS.pull,
            progress=jobs.SERVICE_OPTIONS.progress,
            registry=pending.access,
        )
        try:
            report = report_to_dict(self.runner.validate(pending.pinned, pending.profile, options))
        except Exception as exc:
            self._failed(job, pending.digest, pending.key, exc)
            return
        if self._stopping.is_set() and report.get("verdict") == "error":
            # Most likely our own stop removed its containers: not the image's fault.
            self.store.requeue(job.id)
            return
        self.store.finish(job.id, digest=pending.digest, report=report, error=None, key=pending.key)
        verdict = str(report.get("verdict"))
        self.metrics.validations.labels(verdict).inc()
        log.info("On-demand validation %s: %s", job.id, verdict)

    def _failed(
        self, job: RequestJob, digest: str | None, key: str | None, exc: BaseException
    ) -> None:
        if self._stopping.is_set():
            self.store.requeue(job.id)
            return
        message = redact_text(scrub(describe(exc), job.password))
        if not isinstance(exc, ValidatorError):
            log.debug("Traceback of on-demand validation %s", job.id, exc_info=exc)
        log.warning("On-demand validation %s failed: %s", job.id, message)
        self.metrics.validations.labels("failed").inc()
        self.store.finish(job.id, digest=digest, report=None, error=message, key=key)

    def _reuse(self, public_id: str, digest: str, key: str, earlier: Reusable) -> None:
        # The report as the result cache hands one out: cached, with the stored run's times.
        report = {**earlier.report, "cached": True}
        self.store.finish(
            public_id, digest=digest, report=report, error=None, key=key, reused=earlier
        )
        log.info(
            "On-demand validation %s: %s, reused from the %s validation finished %s",
            public_id,
            report.get("verdict"),
            earlier.source,
            earlier.reused.finished_at,
        )
