"""The store: a digest is validated once per profile, accepted jobs survive a restart,
secrets are encrypted at rest and leave with their watch, delivery ids are used once."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.service import DIGEST_A, DIGEST_B, settings, store
from validator.registry.credentials import Secret
from validator.service import jobs
from validator.service.events import Push
from validator.service.secretbox import SecretBox, generate_key
from validator.service.store import (
    Duplicate,
    Enqueue,
    Replay,
    ResolveJob,
    Store,
    ValidateJob,
    WatchSpec,
)

PASSWORD = "pw-" + "9f" * 12
CALLBACK = "cb-" + "8e" * 12


@pytest.fixture
def db(tmp_path: Path) -> Store:
    return store(tmp_path / "service.sqlite3", settings())


def _watch(db: Store, profile: str = "dockerspawner", **kw: object) -> int:
    spec = WatchSpec("reg.example", "team/*", "*", profile, **kw)  # type: ignore[arg-type]
    return db.create_watch(spec).id


def _enqueue(db: Store, watch_id: int, push: Push) -> Enqueue:
    info = db.watch(watch_id)
    assert info is not None
    prof = jobs.profile(info.profile)
    key = jobs.validation_key(push.digest, prof) if push.digest else None
    return Enqueue(push, info.view, key, prof.hub_version)


def test_a_digest_is_validated_once_per_profile(db: Store) -> None:
    spawner, z2jh = _watch(db, "dockerspawner"), _watch(db, "z2jh")
    first = Push("reg.example", "team/nb", "v1", DIGEST_A)
    again = Push("reg.example", "team/nb", "latest", DIGEST_A)  # same digest, new tag
    accepted = db.accept([_enqueue(db, spawner, first), _enqueue(db, z2jh, first)])
    assert (accepted.queued, accepted.deduplicated) == (2, 0)
    accepted = db.accept([_enqueue(db, spawner, again)])
    assert (accepted.queued, accepted.deduplicated) == (0, 1)
    assert db.tag_digest("reg.example", "team/nb", "latest") == DIGEST_A
    assert {v.profile for v in db.by_digest(DIGEST_A)} == {"dockerspawner", "z2jh"}


def test_a_failed_validation_gets_a_new_chance_with_a_new_push(db: Store) -> None:
    watch = _watch(db)
    push = Push("reg.example", "team/nb", "v1", DIGEST_A)
    db.accept([_enqueue(db, watch, push)])
    job = db.claim()
    assert isinstance(job, ValidateJob)
    db.fail(job, "registry reg.example is unreachable")
    assert db.accept([_enqueue(db, watch, push)]).queued == 1
    again = db.claim()
    assert isinstance(again, ValidateJob) and again.id == job.id and again.attempts == 1


def test_accepted_jobs_survive_a_restart(tmp_path: Path) -> None:
    config = settings()
    path = tmp_path / "service.sqlite3"
    first = store(path, config)
    watch = _watch(first)
    first.accept(
        [
            _enqueue(first, watch, Push("reg.example", "team/a", "v1", DIGEST_A)),
            _enqueue(first, watch, Push("reg.example", "team/b", "v1")),  # to resolve
        ]
    )
    cut_off = first.claim()  # the process dies while running this one
    assert isinstance(cut_off, ResolveJob)
    first.close()

    second = store(path, config)
    assert second.requeue_running() == 1
    claimed = [second.claim(), second.claim(), second.claim()]
    assert isinstance(claimed[0], ResolveJob) and claimed[0].id == cut_off.id
    assert isinstance(claimed[1], ValidateJob) and claimed[1].digest == DIGEST_A
    assert claimed[2] is None


def test_resolution_queues_the_validation_unless_known(db: Store) -> None:
    watch = _watch(db)
    db.accept([_enqueue(db, watch, Push("reg.example", "team/a", "v1"))])
    job = db.claim()
    assert isinstance(job, ResolveJob)
    prof = jobs.profile("dockerspawner")
    key = jobs.validation_key(DIGEST_B, prof)
    assert db.resolved(job, DIGEST_B, key, prof.hub_version, prof.name) is True
    assert db.tag_digest("reg.example", "team/a", "v1") == DIGEST_B
    db.accept([_enqueue(db, watch, Push("reg.example", "team/a", "v2"))])
    second = db.claim()
    assert isinstance(second, ResolveJob)
    assert db.resolved(second, DIGEST_B, key, prof.hub_version, prof.name) is False


def test_replayed_delivery_is_refused_and_records_nothing(db: Store) -> None:
    watch = _watch(db)
    item = _enqueue(db, watch, Push("reg.example", "team/a", "v1", DIGEST_A))
    db.accept([item], delivery=("github", "72d3162e-cc78-11e3-81ab-4c9367dc0958"))
    with pytest.raises(Replay):
        db.accept([item], delivery=("github", "72d3162e-cc78-11e3-81ab-4c9367dc0958"))
    assert len(db.by_digest(DIGEST_A)) == 1


def test_duplicate_watch(db: Store) -> None:
    _watch(db)
    with pytest.raises(Duplicate):
        _watch(db)


def test_secrets_are_encrypted_at_rest_and_leave_with_their_watch(tmp_path: Path) -> None:
    path = tmp_path / "service.sqlite3"
    db = store(path, settings())
    watch = _watch(
        db,
        username="robot",
        password=Secret(PASSWORD),
        callback_url="https://hooks.example/verdict",
        callback_secret=Secret(CALLBACK),
    )
    access = db.access(watch)
    assert access is not None and access.password is not None
    assert access.password.reveal() == PASSWORD
    assert access.callback_secret is not None and access.callback_secret.reveal() == CALLBACK
    with db.engine.connect() as conn:
        ciphertexts = [row[0] for row in conn.exec_driver_sql("SELECT ciphertext FROM secrets")]
    assert len(ciphertexts) == 2
    db.close()
    # Nothing in the database file (or its write-ahead log) shows the plaintext.
    for file in tmp_path.iterdir():
        data = file.read_bytes()
        assert PASSWORD.encode() not in data and CALLBACK.encode() not in data, file

    db = store(path, settings())
    assert db.delete_watch(watch) is True
    assert db.access(watch) is None
    db.close()
    # secure_delete: not even the ciphertext stays in the free pages.
    for file in tmp_path.iterdir():
        data = file.read_bytes()
        for ciphertext in ciphertexts:
            assert ciphertext.encode() not in data, file


def test_deleting_a_watch_drops_its_queue_and_keeps_its_results(db: Store) -> None:
    watch = _watch(db)
    db.accept([_enqueue(db, watch, Push("reg.example", "team/a", "v1", DIGEST_A))])
    job = db.claim()
    assert isinstance(job, ValidateJob)
    db.finish(job, {"verdict": "compatible", "duration_s": 1.0, "counts": {"pass": 1}})
    db.accept([_enqueue(db, watch, Push("reg.example", "team/b", "v1", DIGEST_B))])
    db.accept([_enqueue(db, watch, Push("reg.example", "team/c", "v1"))])
    assert db.delete_watch(watch)
    assert db.claim() is None
    kept = db.by_digest(DIGEST_A)
    assert [v.verdict for v in kept] == ["compatible"]
    assert db.by_digest(DIGEST_B) == []


def test_rotate_keys_re_encrypts_every_secret(tmp_path: Path) -> None:
    old, new = Secret(generate_key()), Secret(generate_key())
    path = tmp_path / "service.sqlite3"
    db = Store(f"sqlite:///{path}", SecretBox((old,)))
    db.create_schema()
    watch = _watch(db, username="robot", password=Secret(PASSWORD))
    db.close()
    rotating = Store(f"sqlite:///{path}", SecretBox((new, old)))
    assert rotating.rotate_secrets() == 1
    rotating.close()
    only_new = Store(f"sqlite:///{path}", SecretBox((new,)))
    access = only_new.access(watch)
    assert access is not None and access.password is not None
    assert access.password.reveal() == PASSWORD
