"""``validate-image-service worker``: a Celery worker bound to one Docker engine.

It consumes the shared queue and a queue of its own (``jhiv.worker.<name>``, where the
service routes the digests that rendezvous hashing gives it), with a prefork pool of
``JHIV_SERVICE_WORKER_CONCURRENCY`` processes (the host's CPUs by default). At start it
removes the validator's leftovers on its engine (``runtime.sandbox.sweep``: containers,
networks, volumes of runs whose process is gone, e.g. a worker killed with SIGKILL), and
again every few heartbeats (a task killed by its hard time limit leaves its containers).
The main process writes a heartbeat to the store; each task process opens the store
itself, after the fork.

A task carries only ``(kind, ref)``. It claims the job (``LeaseStore.claim``: nothing
when it is finished or held by a live claim elsewhere), renews the claim while the job
runs, and writes the outcome through ``_Fenced``: only while it still holds the claim.
The job itself runs exactly as in the embedded engine (``Worker.run``, ``OnDemand.run``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from celery import Celery

from validator.profiles import list_profiles
from validator.redact import redact_url
from validator.service import jobs
from validator.service.engines import broker, timeouts
from validator.service.engines.leases import Kind, LeaseStore
from validator.service.metrics import Metrics
from validator.service.notifier import Notifier
from validator.service.ondemand import OnDemand
from validator.service.ondemand_store import OnDemandStore
from validator.service.runner import DockerRunner, candidate_limits
from validator.service.secretbox import SecretBox
from validator.service.settings import Settings
from validator.service.store import Store
from validator.service.worker import RetryPolicy, Worker

log = logging.getLogger(__name__)

# The main process sweeps its engine's leftovers every this many heartbeats.
SWEEP_EVERY = 10


class LeaseLost(Exception):
    """Another worker took this job over: this one's outcome is not written."""


def default_name() -> str:
    """The host name, as a queue name may spell it."""
    name = "".join(c if c.isalnum() or c in "._-" else "-" for c in socket.gethostname())
    return name or "worker"


def limits() -> timeouts.Limits:
    return timeouts.derive(list_profiles(), jobs.SERVICE_OPTIONS)


def docker_host() -> str:
    # Shown in /healthz: a URL's password (tcp://user:pass@...) never is.
    return redact_url(os.environ.get("DOCKER_HOST", "") or "unix:///var/run/docker.sock")


class _Fenced:
    """A store whose writes of one job's outcome happen only while ``owner`` holds the
    job's lease; reads pass through. The lease goes after the write."""

    WRITES = ("finish", "fail", "retry", "requeue", "resolved")

    def __init__(
        self, inner: Any, leases: LeaseStore, kind: str, ref: str, owner: str, lease_s: float
    ) -> None:
        self._inner = inner
        self._leases = leases
        self._key = (kind, ref)
        self._owner = owner
        self._lease_s = lease_s

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if name not in self.WRITES:
            return attribute

        def fenced(*args: Any, **kwargs: Any) -> Any:
            kind, ref = self._key
            if not self._leases.hold(kind, ref, self._owner, self._lease_s):
                raise LeaseLost(f"{kind} {ref}")
            result = attribute(*args, **kwargs)
            self._leases.release(kind, ref, self._owner)
            return result

        return fenced


@dataclass
class _Process:
    """What one task process holds: opened lazily, after the pool's fork."""

    settings: Settings
    name: str
    pid: int
    store: Store
    ondemand_store: OnDemandStore
    leases: LeaseStore
    runner: DockerRunner
    metrics: Metrics
    notifier: Notifier


_settings: Settings | None = None
_name = ""
_process: _Process | None = None
_process_lock = threading.Lock()


def _state() -> _Process:
    global _process
    with _process_lock:
        if _process is not None and _process.pid == os.getpid():
            return _process
        if _settings is None:
            raise RuntimeError("the worker's settings are not loaded")
        store = Store(_settings.database_url.reveal(), SecretBox(_settings.secret_keys))
        metrics = Metrics()
        notifier = Notifier(metrics, _settings.callback_queue)
        notifier.start()
        _process = _Process(
            settings=_settings,
            name=_name,
            pid=os.getpid(),
            store=store,
            ondemand_store=OnDemandStore(store),
            leases=LeaseStore(store),
            runner=DockerRunner(
                keep_images=_settings.keep_images, limits=candidate_limits(_settings)
            ),
            metrics=metrics,
            notifier=notifier,
        )
        return _process


@contextmanager
def _renewing(
    leases: LeaseStore, kind: str, ref: str, owner: str, lease_s: float
) -> Iterator[None]:
    """Renew the claim every third of the lease while the job runs."""
    done = threading.Event()

    def renew() -> None:
        while not done.wait(lease_s / 3):
            try:
                if not leases.hold(kind, ref, owner, lease_s):
                    log.warning("The claim on %s %s was taken over", kind, ref)
                    return
            except Exception as exc:  # the database is away: try again; the lease may lapse
                log.warning("Cannot renew the claim on %s %s: %s", kind, ref, type(exc).__name__)

    thread = threading.Thread(target=renew, name="jhiv-lease", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(5.0)


def run_job(kind: Kind, ref: str, task: str) -> str:
    """The task's body: claim, run, write; what happened, for the worker's log."""
    state = _state()
    settings = state.settings
    owner = f"{state.name}:{state.pid}:{task}"
    try:
        claimed = state.leases.claim(kind, ref, owner, settings.lease)
    except Exception as exc:
        # The job is not ours and not run: make it due again at once, so the dispatcher
        # publishes it at its next round rather than the reconciler after its grace.
        log.warning("Cannot claim %s %s: %s", kind, ref, type(exc).__name__)
        with contextlib.suppress(Exception):
            state.leases.unpublish([(kind, ref)])
        raise
    if claimed is None:
        log.info("%s %s: finished or running elsewhere, nothing to do", kind, ref)
        return "skipped"
    try:
        with _renewing(state.leases, kind, ref, owner, settings.lease):
            if isinstance(claimed, str):
                fenced = _Fenced(
                    state.ondemand_store, state.leases, kind, ref, owner, settings.lease
                )
                OnDemand(fenced, state.runner, state.metrics, 1).run(claimed)  # type: ignore[arg-type]
            else:
                _worker(
                    state, _Fenced(state.store, state.leases, kind, ref, owner, settings.lease)
                ).run(claimed)
    except LeaseLost:
        log.warning("%s %s was taken over by another worker: this outcome is dropped", kind, ref)
        return "lease lost"
    return "done"


def _worker(state: _Process, store: Any) -> Worker:
    settings = state.settings
    return Worker(
        store,
        state.runner,
        state.metrics,
        concurrency=1,
        policy=RetryPolicy(settings.max_attempts, settings.backoff, settings.backoff_max),
        public_url=settings.public_url,
        notify=state.notifier.submit,
    )


def register(app: Celery) -> None:
    @app.task(name=broker.TASK_NAME, bind=True)  # type: ignore[untyped-decorator]
    def _task(self: Any, kind: Kind, ref: str) -> str:
        return run_job(kind, ref, str(self.request.id))


def _heartbeat(
    leases: LeaseStore, name: str, concurrency: int, every_s: float, stop: threading.Event
) -> None:
    queue = broker.worker_queue(name)
    host = docker_host()
    beats = 0
    while True:
        try:
            leases.heartbeat(name, queue, host, concurrency)
        except Exception as exc:  # the database is away: the service sees us as gone
            log.warning("Cannot write the heartbeat: %s", type(exc).__name__)
        # No connection stays open between beats: the pool forks its processes from
        # this one, and a child must not inherit a live database socket.
        leases.store.engine.dispose()
        beats += 1
        if beats % SWEEP_EVERY == 0:
            _sweep()
        if stop.wait(every_s):
            return


def _sweep() -> int:
    from validator.image import docker_client
    from validator.runtime.sandbox import sweep

    try:
        client = docker_client()
        try:
            removed = sweep(client)
        finally:
            client.close()
    except Exception as exc:  # the engine is away: the next sweep tries again
        log.warning("Cannot sweep the engine's leftovers: %s", type(exc).__name__)
        return 0
    if removed:
        log.info("Removed %d objects left by earlier runs on this engine", removed)
    return removed


def run(settings: Settings, log_level: str) -> int:
    """Start the worker; returns when it stops (SIGTERM: after its running tasks)."""
    global _settings, _name
    if settings.broker_url is None:
        from validator.service.errors import SettingsError

        raise SettingsError(
            "JHIV_SERVICE_BROKER_URL is not set: a worker needs the Celery broker",
            hint="set it to the redis:// URL the service uses",
        )
    _settings = settings
    _name = settings.worker_name or default_name()
    concurrency = settings.worker_concurrency or (os.cpu_count() or 1)
    task_limits = limits()
    app = broker.make_app(settings.broker_url.reveal(), task_limits)
    register(app)

    store = Store(settings.database_url.reveal(), SecretBox(settings.secret_keys))
    store.create_schema()
    leases = LeaseStore(store)
    _sweep()
    stop = threading.Event()
    beat = threading.Thread(
        target=_heartbeat,
        args=(leases, _name, concurrency, settings.lease / 3, stop),
        name="jhiv-heartbeat",
        daemon=True,
    )
    log.info(
        "Worker %s: %d processes on %s, queues %s and %s; time limit %.0f s, "
        "visibility timeout %.0f s",
        _name,
        concurrency,
        docker_host(),
        broker.SHARED_QUEUE,
        broker.worker_queue(_name),
        task_limits.hard_s,
        task_limits.visibility_s,
    )
    # The store's connections must not cross the pool's fork: each child opens its own.
    store.close()
    worker = app.Worker(
        hostname=f"{_name}@{default_name()}",
        queues=[broker.SHARED_QUEUE, broker.worker_queue(_name)],
        concurrency=concurrency,
        pool="prefork",
        loglevel=log_level.upper(),
        without_mingle=True,
        without_gossip=True,
        optimization="fair",
    )
    beat.start()
    try:
        worker.start()
    finally:
        stop.set()
        beat.join(5.0)
        try:
            leases.leave(_name)
        except Exception as exc:  # the database is away: the heartbeat simply ages
            log.warning("Cannot remove the worker's record: %s", type(exc).__name__)
    return int(getattr(worker, "exitcode", 0) or 0)
