"""The on-demand tables on every backend (SQLite, and the real PostgreSQL of
tests/support/stores.py): owners see only their own, a request's login leaves with its
result, a configuration's token with the configuration, and neither shows in plain text
(nor, once deleted, as ciphertext) anywhere the database keeps bytes."""

from __future__ import annotations

from sqlalchemy import text

from tests.support.stores import StoreBackend, add_watch, enqueue
from validator.registry.credentials import Secret
from validator.service import jobs
from validator.service.events import Push
from validator.service.ondemand_store import ON_DEMAND, WEBHOOK, OnDemandStore, Target
from validator.service.store import Status, ValidateJob

TOKEN = "tok-" + "5a" * 12
PASSWORD = "pw-" + "4b" * 12
TARGET = Target("registry.example.org/lab/nb:v1", "dockerspawner", None, "/home/jovyan/work",
                "registry.example.org", "ada")  # fmt: skip


def _count(backend: StoreBackend, table: str) -> int:
    store = backend.open()
    try:
        with store.engine.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
    finally:
        store.close()


def test_a_requests_login_is_deleted_with_its_result(store_backend: StoreBackend) -> None:
    store = store_backend.open()
    ondemand = OnDemandStore(store)
    info = ondemand.create_request("ada", TARGET, Secret(PASSWORD))
    assert info.status == Status.QUEUED and ondemand.unfinished() == [info.id]
    job = ondemand.claim(info.id)
    assert job is not None and job.password is not None and job.password.reveal() == PASSWORD
    assert store_backend.leaks(PASSWORD) == []
    ondemand.finish(info.id, digest="sha256:" + "c" * 64, report={"verdict": "compatible"},
                    error=None)  # fmt: skip
    done = ondemand.request("ada", info.id)
    assert done is not None and done.status == Status.DONE and done.verdict == "compatible"
    assert ondemand.request("bob", info.id) is None
    assert ondemand.unfinished() == []
    store.close()
    assert _count(store_backend, "request_secrets") == 0


def test_a_configuration_is_its_owners_and_takes_its_token_along(
    store_backend: StoreBackend,
) -> None:
    store = store_backend.open()
    ondemand = OnDemandStore(store)
    config = ondemand.create_configuration("ada", TARGET, Secret(TOKEN))
    assert config.has_token and config.target == TARGET
    assert [c.id for c in ondemand.configurations("ada")] == [config.id]
    assert ondemand.configurations("bob") == [] and ondemand.configuration("bob", config.id) is None
    assert ondemand.request_from_configuration("bob", config.id) is None
    assert not ondemand.delete_configuration("bob", config.id)

    request = ondemand.request_from_configuration("ada", config.id)
    assert request is not None and request.configuration_id == config.id
    job = ondemand.claim(request.id)
    assert job is not None and job.password is not None and job.password.reveal() == TOKEN
    with store.engine.connect() as conn:
        ciphertext = conn.execute(text("SELECT ciphertext FROM configuration_secrets")).scalar_one()
    ondemand.finish(request.id, digest=None, report=None, error="registry unreachable")
    assert store_backend.leaks(TOKEN) == []

    assert ondemand.delete_configuration("ada", config.id)
    assert ondemand.configuration("ada", config.id) is None
    failed = ondemand.request("ada", request.id)
    assert failed is not None and failed.status == Status.FAILED
    assert failed.configuration_id is None
    store.close()
    assert _count(store_backend, "configuration_secrets") == 0
    assert _count(store_backend, "request_secrets") == 0
    assert store_backend.leaks(TOKEN) == []
    left = store_backend.leaks(ciphertext)
    if store_backend.name == "postgresql":
        # No row holds it (the dump); PostgreSQL's WAL and dead tuples keep old row
        # versions until VACUUM and WAL recycling, which an application cannot force
        # on a shared server (docs/service.md says so).
        assert "pg_dump" not in left
    else:
        assert left == []


def test_reusable_results_on_every_backend(store_backend: StoreBackend) -> None:
    """The newest conclusive result under a key: the caller's own, or (for a digest the
    registry gave) anyone's and the webhook's; never an error, never another key."""
    store = store_backend.open()
    ondemand = OnDemandStore(store)
    digest = "sha256:" + "d" * 64
    key = jobs.validation_key(digest, jobs.profile("dockerspawner"))

    def finished(owner: str, report: dict[str, object], on_key: str = key) -> str:
        info = ondemand.create_request(owner, TARGET, None)
        ondemand.claim(info.id)
        ondemand.finish(info.id, digest=digest, report=report, error=None, key=on_key)
        return info.id

    assert ondemand.reusable(key, "ada", any_owner=True) is None
    finished("ada", {"verdict": "error", "error": "the engine went away"})
    finished("ada", {"verdict": "compatible"}, on_key="other-key")
    assert ondemand.reusable(key, "ada", any_owner=True) is None
    mine = finished("ada", {"verdict": "incompatible"})
    found = ondemand.reusable(key, "ada", any_owner=False)
    assert found is not None and (found.source, found.id) == (ON_DEMAND, mine)
    assert ondemand.reusable(key, "bob", any_owner=False) is None
    theirs = ondemand.reusable(key, "bob", any_owner=True)
    assert theirs is not None and theirs.id is None  # ada's id is not bob's to see

    watch = add_watch(store)
    store.accept([enqueue(store, watch, Push("reg.example", "team/nb", "v1", digest))])
    job = store.claim()
    assert isinstance(job, ValidateJob)
    hooked = store.finish(job, {"verdict": "compatible", "duration_s": 1.0})
    newest_found = ondemand.reusable(key, "bob", any_owner=True)
    assert newest_found is not None and (newest_found.source, newest_found.id) == (
        WEBHOOK,
        hooked.id,
    )
    assert newest_found.report["verdict"] == "compatible"
    # Without any_owner the webhook's result does not count either.
    own = ondemand.reusable(key, "ada", any_owner=False)
    assert own is not None and own.id == mine
    store.close()
