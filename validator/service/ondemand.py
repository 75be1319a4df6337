"""Runs the validations asked for through the API (``POST /api/v1/validations``).

A small thread pool of its own, next to the webhook worker: the store holds the queue
(a request is written before the API answers 202), the pool only carries what this
process is running, and at start every request left queued or running is run again.
Each job decrypts its login once, pulls with it, and deletes it with the result.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from validator.errors import ValidatorError
from validator.options import Options
from validator.redact import redact_text
from validator.reference import ImageRef, parse_reference
from validator.registry.client import RegistryAccess
from validator.registry.credentials import Credentials, scrub
from validator.report.json import report_to_dict
from validator.service import jobs
from validator.service.metrics import Metrics
from validator.service.ondemand_store import OnDemandStore, RequestJob, Target
from validator.service.runner import Runner
from validator.service.worker import describe

log = logging.getLogger(__name__)


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
        self._pool: ThreadPoolExecutor | None = None
        self._stopping = threading.Event()
        self._running = 0
        self._running_lock = threading.Lock()

    def start(self) -> None:
        self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="jhiv-ondemand")
        left = self.store.unfinished()
        if left:
            log.info("Running again %d on-demand validations left by the last stop", len(left))
        for public_id in left:
            self._pool.submit(self._run, public_id)

    def submit(self, public_id: str) -> None:
        # Without a pool (tests that start no worker) the request waits in the store.
        if self._pool is not None and not self._stopping.is_set():
            self._pool.submit(self._run, public_id)

    def stop(self, grace: float = 10.0) -> None:
        """Take nothing new; give running jobs ``grace`` seconds, then remove their
        containers (the pool's threads are joined at exit: none may outlive a stop).
        Jobs cut off are queued again, with their logins, for the next start."""
        self._stopping.set()
        if self._pool is None:
            return
        self._pool.shutdown(wait=False, cancel_futures=True)
        deadline = time.monotonic() + grace
        while self._running and time.monotonic() < deadline:
            time.sleep(0.05)
        if self._running:
            log.info("Removing the containers of on-demand validations still running")
            self.runner.abort()
        self._pool.shutdown(wait=True)

    def run(self, public_id: str) -> None:
        """Run one request to its outcome here (the Celery engine's workers call this)."""
        self._run(public_id)

    def _run(self, public_id: str) -> None:
        with self._running_lock:
            self._running += 1
        try:
            self._run_one(public_id)
        finally:
            with self._running_lock:
                self._running -= 1

    def _run_one(self, public_id: str) -> None:
        try:
            job = self.store.claim(public_id)
        except Exception as exc:  # a missing key or the database away: recorded, not raised
            log.error("On-demand validation %s cannot start: %s", public_id, describe(exc))
            self.store.finish(public_id, digest=None, report=None, error=describe(exc))
            return
        if job is None:
            return
        digest: str | None = None
        try:
            target = job.target
            ref = parse_reference(target.image)
            profile = jobs.profile(target.profile).with_overrides(
                hub_version=target.hub_version, mount_path=target.mount_path
            )
            access = access_for(target, job, ref.registry)
            digest = ref.digest or self.runner.resolve(ref, access, profile.platform)
            log.info("Validating %s on demand for %s", ref.canonical, profile.name)
            pinned = ImageRef(ref.registry, ref.repository, digest=digest)
            options = Options(
                pull=jobs.SERVICE_OPTIONS.pull,
                progress=jobs.SERVICE_OPTIONS.progress,
                registry=access,
            )
            report = report_to_dict(self.runner.validate(pinned, profile, options))
        except Exception as exc:
            if self._stopping.is_set():
                self.store.requeue(public_id)
                return
            message = redact_text(scrub(describe(exc), job.password))
            if not isinstance(exc, ValidatorError):
                log.debug("Traceback of on-demand validation %s", public_id, exc_info=exc)
            log.warning("On-demand validation %s failed: %s", public_id, message)
            self.metrics.validations.labels("failed").inc()
            self.store.finish(public_id, digest=digest, report=None, error=message)
            return
        if self._stopping.is_set() and report.get("verdict") == "error":
            # Most likely our own stop removed its containers: not the image's fault.
            self.store.requeue(public_id)
            return
        self.store.finish(public_id, digest=digest, report=report, error=None)
        verdict = str(report.get("verdict"))
        self.metrics.validations.labels(verdict).inc()
        log.info("On-demand validation %s: %s", public_id, verdict)
