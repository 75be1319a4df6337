"""The webhook service's store on a real PostgreSQL: what only a server with concurrent
connections shows (row locks skipped by a second worker, two deliveries of one digest at
once, a database restart under a running store).

The behaviours both backends share are tests/unit/service/test_store.py, which runs each
on SQLite and on this PostgreSQL (tests/support/stores.py starts the private cluster).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest
from sqlalchemy import create_engine, text

from tests.support.service import DIGEST_A, DIGEST_B, digest_of
from tests.support.stores import Database, add_watch, enqueue, pg_cluster, postgres_database
from validator.service.events import Push
from validator.service.store import Enqueue, Store, ValidateJob

__all__ = ["pg_cluster", "postgres_database"]  # the fixtures, used by this module's tests
pytestmark = pytest.mark.docker
T = TypeVar("T")


@pytest.fixture
def db(postgres_database: Database) -> Iterator[Store]:
    made = postgres_database.open()
    yield made
    made.close()


def _in_thread(call: Callable[[], T], timeout: float) -> T:
    """``call()`` in another thread; fails the test if it blocks past ``timeout``."""
    result: list[T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            result.append(call())
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), f"blocked for more than {timeout} s"
    if errors:
        raise errors[0]
    return result[0]


# --- the queue ---------------------------------------------------------------------------


def test_the_store_reconnects_after_the_database_restarts(
    postgres_database: Database, db: Store
) -> None:
    watch = add_watch(db)
    db.accept([enqueue(db, watch, Push("reg.example", "team/a", "v1", DIGEST_A))])
    # Every pooled connection now points at a server process that is gone.
    postgres_database.cluster.restart()
    job = db.claim()
    assert isinstance(job, ValidateJob) and job.digest == DIGEST_A


def test_a_job_locked_by_one_worker_is_skipped_by_the_next(
    postgres_database: Database, db: Store
) -> None:
    watch = add_watch(db)
    db.accept(
        [
            enqueue(db, watch, Push("reg.example", "team/a", "v1", DIGEST_A)),
            enqueue(db, watch, Push("reg.example", "team/b", "v1", DIGEST_B)),
        ]
    )
    other = create_engine(postgres_database.url)
    try:
        with other.connect() as conn, conn.begin():
            # Another service process is between its SELECT ... FOR UPDATE and its commit.
            locked = conn.execute(
                text("SELECT id FROM validations ORDER BY id LIMIT 1 FOR UPDATE")
            ).scalar()
            job = _in_thread(db.claim, timeout=10)
            assert isinstance(job, ValidateJob) and job.id != locked and job.digest == DIGEST_B
    finally:
        other.dispose()


def test_concurrent_workers_claim_each_job_exactly_once(db: Store) -> None:
    watch = add_watch(db)
    pushes = [Push("reg.example", f"team/n{i}", "v1", digest_of(f"n{i}")) for i in range(30)]
    db.accept([enqueue(db, watch, p) for p in pushes])
    claimed: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(4)

    def worker() -> None:
        start.wait()
        while (job := db.claim()) is not None:
            with lock:
                claimed.append(job.id)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(t.is_alive() for t in threads)
    assert len(claimed) == len(set(claimed)) == len(pushes)


def test_simultaneous_deliveries_of_one_digest_queue_one_validation(
    postgres_database: Database,
) -> None:
    # One Store per "process", as several service replicas share one database.
    stores = [postgres_database.open() for _ in range(6)]
    try:
        watch = add_watch(stores[0])
        # One push of several tags: the registry sends an event per tag, all at once.
        tags = [f"v{i}" for i in range(len(stores))]
        items = [
            enqueue(stores[0], watch, Push("reg.example", "team/nb", tag, DIGEST_A)) for tag in tags
        ]
        start = threading.Barrier(len(stores))
        results: list[tuple[int, int]] = []
        errors: list[BaseException] = []

        def deliver(store: Store, item: Enqueue) -> None:
            start.wait()
            try:
                accepted = store.accept([item])
                results.append((accepted.queued, accepted.deduplicated))
            except BaseException as exc:
                errors.append(exc)

        threads = [
            threading.Thread(target=deliver, args=pair) for pair in zip(stores, items, strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert errors == []
        assert sorted(results) == [(0, 1)] * (len(stores) - 1) + [(1, 0)]
        assert len(stores[0].by_digest(DIGEST_A)) == 1
        assert all(stores[0].tag_digest("reg.example", "team/nb", t) == DIGEST_A for t in tags)
    finally:
        for store in stores:
            store.close()
