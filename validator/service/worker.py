"""The worker pool: N threads take due jobs from the store, one at a time each.

Concurrency is bounded by the number of threads (each validation runs containers), and
the queue lives in the database, not in memory: a job is claimed (``running``) when a
thread starts it and leaves the queue when its result is written. Transient failures
(registry or engine unreachable, 5xx) are retried with exponential backoff; the rest
fail at once with the validator's message. Threads are daemons: a validation stuck in a
pull cannot hold the process at exit, and what it was doing is run again at the next
start.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from validator.errors import ValidatorError
from validator.findings import Verdict
from validator.redact import redact_text
from validator.reference import ImageRef
from validator.registry.credentials import Secret, scrub
from validator.report.json import report_to_dict
from validator.service import callback, jobs
from validator.service.metrics import Metrics
from validator.service.retry import backoff, is_transient
from validator.service.runner import Runner
from validator.service.store import (
    ResolveJob,
    Store,
    ValidateJob,
    ValidationInfo,
    WatchAccess,
)

log = logging.getLogger(__name__)

POLL_S = 1.0
DELIVERIES_KEPT = timedelta(days=30)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    backoff: float = 5.0
    backoff_max: float = 300.0


def describe(exc: BaseException) -> str:
    """One line for the job's record: the validator's message, or the bug's type."""
    if isinstance(exc, ValidatorError):
        return exc.one_line()
    return f"internal error: {type(exc).__name__}: {exc}"


class Worker:
    def __init__(
        self,
        store: Store,
        runner: Runner,
        metrics: Metrics,
        *,
        concurrency: int = 2,
        policy: RetryPolicy | None = None,
        public_url: str = "",
        notify: Callable[[str, dict[str, Any], Secret | None], None] | None = None,
    ) -> None:
        self.store = store
        self.runner = runner
        self.metrics = metrics
        self.concurrency = concurrency
        self.policy = policy or RetryPolicy()
        self.public_url = public_url
        # Queues a callback for the notifier's threads; a worker never sends one itself.
        self.notify = notify or (lambda url, document, secret: None)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._busy = 0
        self._busy_lock = threading.Lock()

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        again = self.store.requeue_running()
        if again:
            log.info("Re-queued %d jobs cut off by the last stop", again)
        self.store.prune_deliveries(DELIVERIES_KEPT)
        for index in range(self.concurrency):
            thread = threading.Thread(target=self._loop, name=f"jhiv-worker-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)
        log.info("Started %d workers", self.concurrency)

    def wake(self) -> None:
        """New jobs were queued: idle workers look now, not at their next poll."""
        self._wake.set()

    def stop(self, grace: float = 10.0) -> None:
        """Stop taking jobs; give running ones ``grace`` seconds, then remove their
        containers. Jobs cut off go back to the queue."""
        self._stopping.set()
        self._wake.set()
        deadline = time.monotonic() + grace
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if any(t.is_alive() for t in self._threads):
            log.info("Removing the containers of validations still running")
            self.runner.abort()
            for thread in self._threads:
                thread.join(5.0)

    @property
    def busy(self) -> int:
        return self._busy

    def idle(self) -> bool:
        """No job running and none due (for tests and the benchmark)."""
        depth = self.store.depth()
        return self._busy == 0 and not any(depth.values())

    # --- the loop ----------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                job = self.store.claim()
            except Exception as exc:  # the database is away: wait, do not spin
                log.warning("Cannot read the job queue: %s", type(exc).__name__)
                self._stopping.wait(POLL_S * 5)
                continue
            if job is None:
                self._wake.wait(POLL_S)
                continue
            try:
                self.run(job)
            except Exception:  # a bug in the service itself: keep the worker alive
                log.exception("Job %s failed unexpectedly", job.id)

    def run(self, job: ResolveJob | ValidateJob) -> None:
        """Run one claimed job to its outcome in the store (the Celery engine's workers
        call this for the job a message names)."""
        with self._busy_lock:
            self._busy += 1
        try:
            if isinstance(job, ResolveJob):
                self._resolve(job)
            else:
                self._validate(job)
        finally:
            with self._busy_lock:
                self._busy -= 1

    def _resolve(self, job: ResolveJob) -> None:
        watch = self.store.watch(job.watch_id)
        access = self.store.access(job.watch_id)
        if watch is None:
            return  # deleted meanwhile, with its queue
        profile = jobs.profile(watch.profile)
        ref = ImageRef(job.registry, job.repository, tag=job.tag)
        try:
            digest = self.runner.resolve(ref, jobs.registry_access(access), profile.platform)
        except Exception as exc:
            self._failed(job, exc, access)
            return
        key = jobs.validation_key(digest, profile)
        queued = self.store.resolved(job, digest, key, profile.hub_version, profile.name)
        log.info(
            "Resolved %s to %s%s",
            ref.canonical,
            digest,
            "" if queued else " (already validated for this profile)",
        )
        self.wake()

    def _validate(self, job: ValidateJob) -> None:
        access = self.store.access(job.watch_id)
        profile = jobs.profile(job.profile)
        ref = ImageRef(job.registry, job.repository, digest=job.digest)
        log.info("Validating %s for %s (try %d)", job.image, profile.name, job.attempts)
        started = time.monotonic()
        try:
            report = self.runner.validate(ref, profile, jobs.run_options(access))
        except Exception as exc:
            if self._stopping.is_set():
                self.store.requeue(job)
                return
            self._failed(job, exc, access)
            return
        if self._stopping.is_set() and report.verdict is Verdict.ERROR:
            # Most likely our own shutdown removed its containers: not the image's fault.
            self.store.requeue(job)
            return
        info = self.store.finish(job, report_to_dict(report))
        self.metrics.validations.labels(info.verdict or "error").inc()
        self.metrics.validation_seconds.observe(time.monotonic() - started)
        log.info("Validated %s for %s: %s", job.image, profile.name, info.verdict)
        self._notify(info, access)

    def _failed(
        self, job: ResolveJob | ValidateJob, exc: BaseException, access: WatchAccess | None
    ) -> None:
        secrets: tuple[Secret | None, ...] = (
            (access.password, access.callback_secret) if access else ()
        )
        message = redact_text(scrub(describe(exc), *secrets))
        kind = "resolution" if isinstance(job, ResolveJob) else "validation"
        if not isinstance(exc, ValidatorError):
            log.debug("Traceback of job %s", job.id, exc_info=exc)
        if is_transient(exc) and job.attempts < self.policy.max_attempts:
            delay = backoff(job.attempts, self.policy.backoff, self.policy.backoff_max)
            log.warning(
                "%s %s failed (try %d of %d), again in %.0f s: %s",
                kind.capitalize(),
                job.id,
                job.attempts,
                self.policy.max_attempts,
                delay,
                message,
            )
            self.store.retry(job, message, delay)
            self.metrics.retries.labels(kind).inc()
            return
        log.error("%s %s failed: %s", kind.capitalize(), job.id, message)
        self.store.fail(job, message)
        if isinstance(job, ValidateJob):
            self.metrics.validations.labels("failed").inc()
            info = self.store.validation(job.id)
            if info is not None:
                self._notify(info, access)

    def _notify(self, info: ValidationInfo, access: WatchAccess | None) -> None:
        if access is None or not access.callback_url:
            return
        tags = self.store.tags_of([info.digest]).get(info.digest, [])
        document = callback.payload(info, tags, self.public_url, datetime.now(timezone.utc))
        self.notify(access.callback_url, document, access.callback_secret)
