"""The Celery engine, service side: publish the store's due jobs, reconcile what is lost.

The HTTP side writes a job to the store and wakes the engine; the dispatcher publishes
the ids of due jobs no message carries yet (a ``leases`` row marks each published one),
to the own queue of the live worker that rendezvous hashing picks for the digest (its
layers are likely pulled there), or to the shared queue when no worker is live. Workers
(``validate-image-service worker``, ``worker.py`` here) claim, run and write the result.

The reconciler runs every ``JHIV_SERVICE_RECONCILE`` seconds and at start:
  - a claim whose lease expired (its worker was killed, its host went away): the job is
    queued again and published again, or failed after ``MAX_ATTEMPTS`` such losses;
  - a job published a while ago that no live queue holds and no worker has just been
    handed (Redis restarted without its data, the chosen worker went away): published
    again, to a live worker or the shared queue;
  - a job the store holds as running that no lease covers: queued again.
A message delivered twice claims nothing the second time (``leases.LeaseStore.claim``).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from celery import Celery

from validator.service.engines import broker
from validator.service.engines.leases import LeaseStore, Reconciled
from validator.service.engines.rendezvous import pick
from validator.service.store import utcnow
from validator.service.worker import DELIVERIES_KEPT

log = logging.getLogger(__name__)

POLL_S = 1.0


class CeleryEngine:
    name = "celery"

    def __init__(
        self,
        leases: LeaseStore,
        app: Celery,
        view: broker.BrokerView,
        *,
        lease_s: float,
        reconcile_s: float,
        max_attempts: int,
    ) -> None:
        self.leases = leases
        self.app = app
        self.view = view
        self.lease_s = lease_s
        self.reconcile_s = reconcile_s
        self.max_attempts = max_attempts
        # A message younger than this may be between Redis and the worker's claim.
        self.grace_s = max(2.0, min(reconcile_s, lease_s))
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        # What Worker.start does for the embedded engine; running jobs are not touched
        # here: live workers may hold them (the reconciler decides, by their leases).
        self.leases.store.prune_deliveries(DELIVERIES_KEPT)
        for name, target in (
            ("dispatch", self._dispatch_loop),
            ("reconcile", self._reconcile_loop),
        ):
            thread = threading.Thread(target=target, name=f"jhiv-celery-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        log.info(
            "Celery engine: publishing to %s and the live workers' queues", broker.SHARED_QUEUE
        )

    def stop(self, grace: float = 10.0) -> None:
        # Nothing runs here: the workers finish their jobs; the store keeps the rest.
        self._stopping.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(max(1.0, grace))

    def wake(self) -> None:
        self._wake.set()

    def submit(self, public_id: str) -> None:
        self._wake.set()

    @property
    def busy(self) -> int:
        try:
            return sum(self.leases.holding().values())
        except Exception:  # the database is away: /healthz says so itself
            return 0

    # --- the dispatcher --------------------------------------------------------------------

    def _dispatch_loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                while self.dispatch() and not self._stopping.is_set():
                    pass  # a full batch: there may be more
            except Exception as exc:  # the database is away: try again at the next round
                log.warning("Cannot publish jobs: %s", type(exc).__name__)
            self._wake.wait(POLL_S)

    def live_queues(self) -> dict[str, str]:
        """worker name -> its own queue, for workers seen within a lease."""
        return {w.name: w.queue for w in self.leases.workers(within_s=self.lease_s)}

    def dispatch(self) -> int:
        """Publish every due job not yet published; the count published."""
        due = self.leases.due()
        if not due:
            return 0
        live = self.live_queues()
        published = 0
        for job in due:
            name = pick(live, job.route)
            queue = live[name] if name is not None else broker.SHARED_QUEUE
            if not self.leases.mark_published(job.kind, job.ref, queue):
                continue
            try:
                self.app.send_task(
                    broker.TASK_NAME,
                    args=[job.kind, job.ref],
                    queue=queue,
                    task_id=broker.task_id(job.kind, job.ref),
                )
            except Exception as exc:  # the broker is away: the job stays due
                self.leases.unpublish([(job.kind, job.ref)])
                log.warning("Cannot publish to the broker: %s", type(exc).__name__)
                return 0
            published += 1
        log.debug("Published %d jobs", published)
        return published

    # --- the reconciler ------------------------------------------------------------------

    def _reconcile_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.reconcile()
            except Exception as exc:  # the database or the broker is away: next round
                log.warning("Cannot reconcile the queue: %s", type(exc).__name__)
            self._stopping.wait(self.reconcile_s)

    def reconcile(self) -> tuple[Reconciled, int]:
        """One round; what the store's side changed and how many lost messages go again."""
        outcome = self.leases.reconcile(self.max_attempts)
        if outcome.requeued or outcome.failed:
            log.info(
                "Reconciler: %d expired claims queued again, %d failed",
                outcome.requeued,
                outcome.failed,
            )
        lost = self._lost_messages()
        if lost:
            log.info("Reconciler: %d published jobs no live queue carries, publishing again", lost)
        if outcome.requeued or lost:
            self._wake.set()
        return outcome, lost

    def _lost_messages(self) -> int:
        unclaimed = self.leases.unclaimed(self.grace_s)
        if not unclaimed:
            return 0
        live = {broker.SHARED_QUEUE, *self.live_queues().values()}
        carried = self.view.carried(live)
        now = time.time()
        lost: list[tuple[str, str]] = []
        for job in unclaimed:
            key = (job.kind, job.ref)
            if any(key in carried.waiting.get(queue, ()) for queue in live):
                continue
            delivered = carried.unacked.get(key)
            if delivered is not None and now - delivered < self.grace_s:
                continue
            lost.append(key)
        return self.leases.unpublish(lost)

    # --- what the service shows ------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        now = utcnow()
        seen = self.leases.workers()
        holding = self.leases.holding()
        return {
            "engine": self.name,
            "broker": "ok" if self.view.ping() else "unreachable",
            "workers": [
                {
                    "name": w.name,
                    "docker_host": w.docker_host,
                    "concurrency": w.concurrency,
                    "seen_s_ago": round((now - w.seen_at).total_seconds(), 1),
                    "live": (now - w.seen_at).total_seconds() <= self.lease_s,
                    "running": holding.get(w.name, 0),
                }
                for w in seen
            ],
        }

    def queue_depths(self) -> dict[str, int]:
        queues = [broker.SHARED_QUEUE, *sorted({w.queue for w in self.leases.workers()})]
        return self.view.depths(queues)

    def running_per_worker(self) -> dict[str, int]:
        holding = self.leases.holding()
        return {w.name: holding.get(w.name, 0) for w in self.leases.workers()}
