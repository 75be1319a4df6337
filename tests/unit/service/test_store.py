"""The store: a digest is validated once per profile, accepted jobs survive a restart,
secrets are encrypted at rest and leave with their watch, delivery ids are used once.

Each test runs on every backend (``store_backend``: SQLite, and a real PostgreSQL where
scripts/setup-postgres.sh installed it). What only a server with concurrent connections
shows is in tests/integration/test_service_postgres.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from tests.support.service import DIGEST_A, DIGEST_B
from tests.support.stores import SqliteBackend, StoreBackend, add_watch, enqueue
from validator.registry.credentials import Secret
from validator.service import jobs
from validator.service.events import Push
from validator.service.secretbox import SecretBox, generate_key
from validator.service.store import (
    Duplicate,
    Replay,
    ResolveJob,
    Store,
    ValidateJob,
)

PASSWORD = "pw-" + "9f" * 12
CALLBACK = "cb-" + "8e" * 12


def test_a_digest_is_validated_once_per_profile(store: Store) -> None:
    spawner, z2jh = add_watch(store, "dockerspawner"), add_watch(store, "z2jh")
    first = Push("reg.example", "team/nb", "v1", DIGEST_A)
    again = Push("reg.example", "team/nb", "latest", DIGEST_A)  # same digest, new tag
    accepted = store.accept([enqueue(store, spawner, first), enqueue(store, z2jh, first)])
    assert (accepted.queued, accepted.deduplicated) == (2, 0)
    accepted = store.accept([enqueue(store, spawner, again)])
    assert (accepted.queued, accepted.deduplicated) == (0, 1)
    assert store.tag_digest("reg.example", "team/nb", "latest") == DIGEST_A
    assert {v.profile for v in store.by_digest(DIGEST_A)} == {"dockerspawner", "z2jh"}


def test_a_failed_validation_gets_a_new_chance_with_a_new_push(store: Store) -> None:
    watch = add_watch(store)
    push = Push("reg.example", "team/nb", "v1", DIGEST_A)
    store.accept([enqueue(store, watch, push)])
    job = store.claim()
    assert isinstance(job, ValidateJob)
    store.fail(job, "registry reg.example is unreachable")
    assert store.accept([enqueue(store, watch, push)]).queued == 1
    again = store.claim()
    assert isinstance(again, ValidateJob) and again.id == job.id and again.attempts == 1


def test_accepted_jobs_survive_a_restart(store_backend: StoreBackend) -> None:
    first = store_backend.open()
    watch = add_watch(first)
    first.accept(
        [
            enqueue(first, watch, Push("reg.example", "team/a", "v1", DIGEST_A)),
            enqueue(first, watch, Push("reg.example", "team/b", "v1")),  # to resolve
        ]
    )
    cut_off = first.claim()  # the process dies while running this one
    assert isinstance(cut_off, ResolveJob)
    first.close()

    second = store_backend.open()
    try:
        assert second.requeue_running() == 1
        claimed = [second.claim(), second.claim(), second.claim()]
        assert isinstance(claimed[0], ResolveJob) and claimed[0].id == cut_off.id
        assert claimed[0].attempts == 2
        assert isinstance(claimed[1], ValidateJob) and claimed[1].digest == DIGEST_A
        assert claimed[2] is None
    finally:
        second.close()


def test_a_job_is_claimed_finished_and_a_failed_one_gets_a_new_chance(store: Store) -> None:
    watch = add_watch(store)
    store.accept(
        [
            enqueue(store, watch, Push("reg.example", "team/nb", "v1", DIGEST_A)),
            enqueue(store, watch, Push("reg.example", "team/nb", "v2", DIGEST_B)),
        ]
    )
    assert store.depth() == {("validation", "queued"): 2}
    done = store.claim()
    assert isinstance(done, ValidateJob) and done.digest == DIGEST_A and done.attempts == 1
    assert store.depth() == {("validation", "queued"): 1, ("validation", "running"): 1}
    info = store.finish(done, {"verdict": "compatible", "duration_s": 2.5, "counts": {"pass": 1}})
    assert (info.status, info.verdict, info.duration_s) == ("done", "compatible", 2.5)
    assert info.report == {"verdict": "compatible", "duration_s": 2.5, "counts": {"pass": 1}}

    failed = store.claim()
    assert isinstance(failed, ValidateJob) and failed.digest == DIGEST_B
    store.fail(failed, "registry reg.example is unreachable")
    assert store.claim() is None
    [row] = store.by_digest(DIGEST_B)
    assert (row.status, row.error) == ("failed", "registry reg.example is unreachable")
    # A finished verdict stays; a failure is retried on the next push.
    again = [
        enqueue(store, watch, Push("reg.example", "team/nb", "v1", DIGEST_A)),
        enqueue(store, watch, Push("reg.example", "team/nb", "v2", DIGEST_B)),
    ]
    accepted = store.accept(again)
    assert (accepted.queued, accepted.deduplicated) == (1, 1)
    retried = store.claim()
    assert isinstance(retried, ValidateJob) and retried.id == failed.id


def test_resolution_queues_the_validation_unless_known(store: Store) -> None:
    watch = add_watch(store)
    store.accept([enqueue(store, watch, Push("reg.example", "team/a", "v1"))])
    job = store.claim()
    assert isinstance(job, ResolveJob)
    prof = jobs.profile("dockerspawner")
    key = jobs.validation_key(DIGEST_B, prof)
    assert store.resolved(job, DIGEST_B, key, prof.hub_version, prof.name) is True
    assert store.tag_digest("reg.example", "team/a", "v1") == DIGEST_B
    store.accept([enqueue(store, watch, Push("reg.example", "team/a", "v2"))])
    second = store.claim()
    assert isinstance(second, ResolveJob)
    assert store.resolved(second, DIGEST_B, key, prof.hub_version, prof.name) is False


def test_replayed_delivery_is_refused_and_records_nothing(store: Store) -> None:
    watch = add_watch(store)
    item = enqueue(store, watch, Push("reg.example", "team/a", "v1", DIGEST_A))
    store.accept([item], delivery=("github", "72d3162e-cc78-11e3-81ab-4c9367dc0958"))
    with pytest.raises(Replay):
        store.accept([item], delivery=("github", "72d3162e-cc78-11e3-81ab-4c9367dc0958"))
    assert len(store.by_digest(DIGEST_A)) == 1


def test_duplicate_watch_is_refused_and_the_store_goes_on(store: Store) -> None:
    add_watch(store)
    with pytest.raises(Duplicate):
        add_watch(store)
    # The failed transaction was rolled back, not left aborted on a pooled connection.
    assert len(store.watches()) == 1
    assert add_watch(store, "z2jh") > 0


def test_secrets_are_encrypted_at_rest_and_leave_with_their_watch(
    store_backend: StoreBackend, store: Store
) -> None:
    watch = add_watch(
        store,
        username="robot",
        password=Secret(PASSWORD),
        callback_url="https://hooks.example/verdict",
        callback_secret=Secret(CALLBACK),
    )
    [listed] = store.watches()
    assert (listed.id, listed.username, listed.has_password, listed.has_callback_secret) == (
        watch,
        "robot",
        True,
        True,
    )
    access = store.access(watch)
    assert access is not None and access.password is not None
    assert access.password.reveal() == PASSWORD
    assert access.callback_secret is not None and access.callback_secret.reveal() == CALLBACK
    with store.engine.connect() as conn:
        ciphertexts = [row[0] for row in conn.execute(text("SELECT ciphertext FROM secrets"))]
    assert len(ciphertexts) == 2
    # The plaintext never reached the database: no page, log or dump shows it.
    for secret in (PASSWORD, CALLBACK):
        assert store_backend.leaks(secret) == []

    assert store.delete_watch(watch) is True
    assert store.watches() == []
    assert store.access(watch) is None
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM secrets")).scalar() == 0


def test_sqlite_leaves_no_ciphertext_in_its_free_pages(tmp_path: Path) -> None:
    backend = SqliteBackend(tmp_path, SecretBox((Secret(generate_key()),)))
    store = backend.open()
    watch = add_watch(store, username="robot", password=Secret(PASSWORD))
    with store.engine.connect() as conn:
        [ciphertext] = [row[0] for row in conn.execute(text("SELECT ciphertext FROM secrets"))]
    assert store.delete_watch(watch) is True
    store.close()
    # secure_delete: not even the ciphertext stays in the file once its row is gone.
    assert backend.leaks(ciphertext) == []


def test_deleting_a_watch_drops_its_queue_and_keeps_its_results(store: Store) -> None:
    watch = add_watch(store)
    store.accept([enqueue(store, watch, Push("reg.example", "team/a", "v1", DIGEST_A))])
    job = store.claim()
    assert isinstance(job, ValidateJob)
    store.finish(job, {"verdict": "compatible", "duration_s": 1.0, "counts": {"pass": 1}})
    store.accept([enqueue(store, watch, Push("reg.example", "team/b", "v1", DIGEST_B))])
    store.accept([enqueue(store, watch, Push("reg.example", "team/c", "v1"))])
    assert store.delete_watch(watch)
    assert store.claim() is None
    kept = store.by_digest(DIGEST_A)
    assert [v.verdict for v in kept] == ["compatible"]
    assert store.by_digest(DIGEST_B) == []


def test_rotate_keys_re_encrypts_every_secret(store_backend: StoreBackend) -> None:
    old, new = Secret(generate_key()), Secret(generate_key())
    first = store_backend.open(SecretBox((old,)))
    watch = add_watch(first, username="robot", password=Secret(PASSWORD))
    first.close()
    rotating = store_backend.open(SecretBox((new, old)))
    assert rotating.rotate_secrets() == 1
    rotating.close()
    only_new = store_backend.open(SecretBox((new,)))
    try:
        access = only_new.access(watch)
        assert access is not None and access.password is not None
        assert access.password.reveal() == PASSWORD
    finally:
        only_new.close()
