"""Job leases on each store backend: a claim is atomic and exclusive while it lives, a
second delivery claims nothing, an expired claim is taken over, and a worker that lost
its claim cannot write the outcome."""

from __future__ import annotations

import pytest

from tests.support.service import DIGEST_A, DIGEST_B
from tests.support.stores import add_watch, enqueue
from validator.registry.credentials import Secret
from validator.service.engines.leases import LeaseStore, lease_state
from validator.service.engines.worker import LeaseLost, _Fenced
from validator.service.events import Push
from validator.service.ondemand_store import OnDemandStore, Target
from validator.service.store import Status, Store, ValidateJob, utcnow

A, B = "worker-a:1:t1", "worker-b:2:t2"


def _queue(store: Store, *digests: str) -> list[str]:
    watch = add_watch(store)
    store.accept(
        [
            enqueue(store, watch, Push("reg.example", "team/nb", f"v{i}", d))
            for i, d in enumerate(digests)
        ]
    )
    return [str(v.id) for d in digests for v in store.by_digest(d)]


def test_who_may_claim() -> None:
    now = utcnow()
    later = now.replace(year=now.year + 1)
    assert lease_state(Status.QUEUED, None, None, A, now)
    assert lease_state(Status.RUNNING, None, None, A, now)  # running, no claim: cut off
    assert lease_state(Status.RUNNING, A, later, A, now)  # its own claim
    assert not lease_state(Status.RUNNING, B, later, A, now)  # a live claim elsewhere
    assert lease_state(Status.RUNNING, B, now, A, now)  # expired
    assert not lease_state(Status.DONE, None, None, A, now)
    assert not lease_state(Status.FAILED, None, None, A, now)


def test_a_second_delivery_of_a_live_claim_claims_nothing(store: Store) -> None:
    leases = LeaseStore(store)
    (ref,) = _queue(store, DIGEST_A)
    job = leases.claim("validation", ref, A, 60)
    assert isinstance(job, ValidateJob) and job.attempts == 1
    assert leases.claim("validation", ref, B, 60) is None
    assert leases.owner_of("validation", ref) == A
    info = store.validation(int(ref))
    assert info is not None and info.status is Status.RUNNING


def test_an_expired_claim_is_taken_over_and_the_loser_cannot_write(store: Store) -> None:
    leases = LeaseStore(store)
    (ref,) = _queue(store, DIGEST_A)
    first = leases.claim("validation", ref, A, 0)  # expires at once: its worker is gone
    assert isinstance(first, ValidateJob)
    second = leases.claim("validation", ref, B, 60)
    assert isinstance(second, ValidateJob) and second.attempts == 2
    assert not leases.hold("validation", ref, A, 60)
    loser = _Fenced(store, leases, "validation", ref, A, 60)
    with pytest.raises(LeaseLost):
        loser.finish(first, {"verdict": "compatible"})
    winner = _Fenced(store, leases, "validation", ref, B, 60)
    winner.finish(second, {"verdict": "incompatible"})
    info = store.validation(int(ref))
    assert info is not None and (info.status, info.verdict) == (Status.DONE, "incompatible")
    assert leases.owner_of("validation", ref) is None  # released with the write
    assert leases.claim("validation", ref, A, 60) is None  # finished: a late delivery is a no-op


def test_publishing_marks_a_job_once_and_unpublish_makes_it_due_again(store: Store) -> None:
    leases = LeaseStore(store)
    refs = _queue(store, DIGEST_A, DIGEST_B)
    due = leases.due()
    assert [(d.kind, d.ref, d.route) for d in due] == [
        ("validation", refs[0], DIGEST_A),
        ("validation", refs[1], DIGEST_B),
    ]
    assert leases.mark_published("validation", refs[0], "jhiv")
    assert not leases.mark_published("validation", refs[0], "jhiv")  # another publisher
    assert [d.ref for d in leases.due()] == [refs[1]]
    assert [p.ref for p in leases.unclaimed(-1)] == [refs[0]]
    leases.claim("validation", refs[1], A, 60)
    # A claimed job is never unpublished; an unclaimed one is due again.
    assert leases.unpublish([("validation", refs[0]), ("validation", refs[1])]) == 1
    assert [d.ref for d in leases.due()] == [refs[0]]


def test_the_reconciler_requeues_expired_claims_then_fails_them(store: Store) -> None:
    leases = LeaseStore(store)
    (ref,) = _queue(store, DIGEST_A)
    leases.claim("validation", ref, A, 0)
    outcome = leases.reconcile(max_attempts=2)
    assert (outcome.requeued, outcome.failed) == (1, 0)
    info = store.validation(int(ref))
    assert info is not None and info.status is Status.QUEUED
    assert [d.ref for d in leases.due()] == [ref]
    leases.claim("validation", ref, B, 0)  # the second try's worker is lost too
    outcome = leases.reconcile(max_attempts=2)
    assert (outcome.requeued, outcome.failed) == (0, 1)
    info = store.validation(int(ref))
    assert info is not None and info.status is Status.FAILED
    assert info.error is not None and "lost" in info.error
    assert leases.due() == []


def test_the_reconciler_leaves_live_claims_and_requeues_unleased_running_jobs(store: Store) -> None:
    leases = LeaseStore(store)
    live, cut_off = _queue(store, DIGEST_A, DIGEST_B)
    leases.claim("validation", live, A, 60)
    assert store.claim() is not None  # the embedded engine's claim: running, no lease
    outcome = leases.reconcile(max_attempts=5)
    assert outcome.requeued == 1
    statuses = {ref: store.validation(int(ref)).status for ref in (live, cut_off)}  # type: ignore[union-attr]
    assert statuses == {live: Status.RUNNING, cut_off: Status.QUEUED}


def test_a_request_is_claimed_once_with_its_public_id(store: Store) -> None:
    leases = LeaseStore(store)
    requests = OnDemandStore(store)
    info = requests.create_request(
        "ada", Target("reg.example/team/nb:v1", "dockerspawner"), Secret("pw")
    )
    assert [(d.kind, d.ref, d.route) for d in leases.due()] == [
        ("request", info.id, "reg.example/team/nb:v1")
    ]
    assert leases.claim("request", info.id, A, 60) == info.id
    assert leases.claim("request", info.id, B, 60) is None
    fenced = _Fenced(requests, leases, "request", info.id, A, 60)
    fenced.finish(info.id, digest=DIGEST_A, report={"verdict": "compatible"}, error=None)
    done = requests.request("ada", info.id)
    assert done is not None and done.status is Status.DONE
    assert leases.claim("request", info.id, B, 60) is None


def test_workers_are_live_while_their_heartbeat_is_recent(store: Store) -> None:
    leases = LeaseStore(store)
    leases.heartbeat("a", "jhiv.worker.a", "unix:///var/run/docker.sock", 4)
    leases.heartbeat("b", "jhiv.worker.b", "tcp://10.0.0.2:2376", 2)
    assert [w.name for w in leases.workers(within_s=60)] == ["a", "b"]
    assert leases.workers(within_s=-1) == []
    leases.leave("a")
    assert [(w.name, w.concurrency) for w in leases.workers()] == [("b", 2)]
