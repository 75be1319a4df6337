"""The on-demand tables on every backend (SQLite, and the real PostgreSQL of
tests/support/stores.py): owners see only their own, a request's login leaves with its
result, a configuration's token with the configuration, and neither shows in plain text
(nor, once deleted, as ciphertext) anywhere the database keeps bytes."""

from __future__ import annotations

from sqlalchemy import text

from tests.support.stores import StoreBackend
from validator.registry.credentials import Secret
from validator.service.ondemand_store import OnDemandStore, Target
from validator.service.store import Status

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
