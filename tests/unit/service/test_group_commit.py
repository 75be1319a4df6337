"""Group commit (issue #13): a burst shares transactions, every acknowledged delivery is
stored (counted through a freshly opened store), and a failed transaction fails every
delivery of its batch, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from tests.support import service as w
from tests.support.service import digest_of
from tests.support.stores import StoreBackend, add_watch, enqueue
from tests.unit.service.test_app import hook, service, watch
from validator.service.events import Push
from validator.service.groupcommit import GroupCommitter
from validator.service.store import Accepted, Delivered, Delivery, Replay, Store, Validation


def _delivered(store: Store, watch_id: int, n: int, delivery: str | None = None) -> Delivered:
    push = Push("reg.example", "team/app", f"v{n}", digest_of(f"team/app{n}"))
    return Delivered((enqueue(store, watch_id, push),), ("github", delivery) if delivery else None)


def _count(store: Store, table: type[Validation] | type[Delivery]) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


class _Gated:
    """Holds the committer's first transaction until released, so the next requests
    queue up behind it and form one batch (ordering, not a fake)."""

    def __init__(self, store: Store) -> None:
        self.store, self.gate, self.held = store, threading.Event(), threading.Event()

    def __call__(self, batch: Sequence[Delivered]) -> Sequence[Accepted | BaseException]:
        self.held.set()
        self.gate.wait(10)
        return self.store.accept_batch(batch)

    def holding(self) -> None:
        """Wait until the first transaction is held: what is submitted next forms the
        second batch, however slowly the committer's thread was scheduled."""
        assert self.held.wait(10)


def test_a_burst_shares_transactions_and_every_ack_is_stored(store_backend: StoreBackend) -> None:
    store = store_backend.open()
    watch_id = add_watch(store)
    committer: GroupCommitter[Delivered, Accepted] = GroupCommitter(store.accept_batch)
    items = [_delivered(store, watch_id, n, f"d{n}") for n in range(128)]
    with ThreadPoolExecutor(16) as senders:
        futures = list(senders.map(committer.submit, items))
    assert [f.result(30).queued for f in futures] == [1] * 128
    assert committer.batches < 128
    committer.close(10)
    store.close()
    fresh = store_backend.open()
    try:
        assert (_count(fresh, Validation), _count(fresh, Delivery)) == (128, 128)
    finally:
        fresh.close()


def test_a_failed_transaction_fails_every_delivery_of_its_batch(
    store_backend: StoreBackend,
) -> None:
    store = store_backend.open()
    watch_id = add_watch(store)
    gated = _Gated(store)
    committer: GroupCommitter[Delivered, Accepted] = GroupCommitter(gated)
    futures: list[Future[Accepted]] = [committer.submit(_delivered(store, watch_id, 0, "d0"))]
    gated.holding()
    futures += [committer.submit(_delivered(store, watch_id, n, f"d{n}")) for n in range(1, 8)]
    with store.engine.begin() as conn:  # a real database error inside the transaction
        conn.execute(text("DROP TABLE tags"))
    gated.gate.set()
    for future in futures:
        with pytest.raises(Exception, match="tags"):
            future.result(30)
    assert committer.batches == 2
    committer.close(10)
    store.close()
    fresh = store_backend.open()
    try:
        assert (_count(fresh, Validation), _count(fresh, Delivery)) == (0, 0)
    finally:
        fresh.close()


def test_a_replay_fails_alone_and_its_batch_is_stored(store_backend: StoreBackend) -> None:
    store = store_backend.open()
    watch_id = add_watch(store)
    gated = _Gated(store)
    committer: GroupCommitter[Delivered, Accepted] = GroupCommitter(gated)
    first = committer.submit(_delivered(store, watch_id, 0, "d0"))
    gated.holding()
    batch = [
        committer.submit(_delivered(store, watch_id, 1, "d1")),
        committer.submit(_delivered(store, watch_id, 2, "d1")),  # the same delivery again
        committer.submit(_delivered(store, watch_id, 3, "d3")),
    ]
    gated.gate.set()
    assert first.result(30).queued == 1
    assert batch[0].result(30).queued == 1
    with pytest.raises(Replay):
        batch[1].result(30)
    assert batch[2].result(30).queued == 1
    assert committer.batches == 2
    committer.close(10)
    store.close()
    fresh = store_backend.open()
    try:
        assert (_count(fresh, Validation), _count(fresh, Delivery)) == (3, 3)
    finally:
        fresh.close()


def test_concurrent_webhooks_are_all_stored_after_their_202(tmp_path: Path) -> None:
    with service(tmp_path, worker=False) as (client, _, _):
        watch(client)

        def send(n: int) -> int:
            event = w.distribution_event("lab/app", f"v{n}", digest_of(f"lab/app{n}"))
            status: int = hook(client, {"events": [event]}).status_code
            return status

        with ThreadPoolExecutor(16) as senders:
            statuses = list(senders.map(send, range(64)))
    assert statuses == [202] * 64
    fresh = w.store(tmp_path / "service.sqlite3", w.settings())
    try:
        assert _count(fresh, Validation) == 64
    finally:
        fresh.close()


def test_a_failed_commit_answers_500_to_every_webhook(tmp_path: Path) -> None:
    with service(tmp_path, worker=False) as (client, _, _):
        watch(client)
        quiet = TestClient(client.app, raise_server_exceptions=False)
        with client.app.state.service.store.engine.begin() as conn:  # type: ignore[attr-defined]
            conn.execute(text("DROP TABLE tags"))

        def send(n: int) -> int:
            event = w.distribution_event("lab/app", f"v{n}", digest_of(f"lab/app{n}"))
            # The answer the sender sees, not the exception the test client re-raises.
            status: int = hook(quiet, {"events": [event]}).status_code
            return status

        with ThreadPoolExecutor(8) as senders:
            statuses = list(senders.map(send, range(16)))
    assert statuses == [500] * 16
    fresh = w.store(tmp_path / "service.sqlite3", w.settings())
    try:
        assert _count(fresh, Validation) == 0
    finally:
        fresh.close()
