"""/healthz names the engine; with Celery it reports the broker and the workers seen,
and /metrics survives a broker that does not answer."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from tests.support import service as w
from tests.support.registry import free_port
from validator.registry.credentials import Secret
from validator.service.app import create_app
from validator.service.engines.leases import LeaseStore


def test_the_local_engine_is_the_default(tmp_path: Path) -> None:
    config = w.settings()
    app = create_app(
        config, w.store(tmp_path / "s.sqlite3", config), w.FakeRunner(), start_worker=False
    )
    with TestClient(app) as client:
        health = client.get("/healthz").json()
        assert (health["status"], health["engine"], health["workers"]) == ("ok", "local", 2)
        text = client.get("/metrics").text
        assert "jhiv_broker_queue_messages" not in text
        assert "jhiv_worker_jobs_running" not in text


def test_a_broker_selects_celery_and_an_unreachable_one_is_reported(tmp_path: Path) -> None:
    # Nothing listens on this port: the broker is away, the store answers.
    config = w.settings(broker_url=Secret(f"redis://:pw-not-shown@127.0.0.1:{free_port()}/0"))
    store = w.store(tmp_path / "s.sqlite3", config)
    LeaseStore(store).heartbeat("host-a", "jhiv.worker.host-a", "tcp://10.0.0.5:2376", 4)
    app = create_app(config, store, w.FakeRunner(), start_worker=False)
    with TestClient(app) as client:
        answer = client.get("/healthz")
        assert answer.status_code == 200
        health = answer.json()
        assert (health["engine"], health["broker"]) == ("celery", "unreachable")
        assert [(x["name"], x["concurrency"], x["live"]) for x in health["workers"]] == [
            ("host-a", 4, True)
        ]
        assert "pw-not-shown" not in answer.text
        metrics = client.get("/metrics")
        assert metrics.status_code == 200
        assert "jhiv_queue_jobs" in metrics.text
        assert 'jhiv_worker_jobs_running{worker="host-a"} 0.0' in metrics.text
