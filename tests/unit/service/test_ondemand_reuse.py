"""Result reuse of validation on demand, through the real ASGI app with the fake runner:
a digest that already has a conclusive result for the same effective profile and
validator version (on demand or from a webhook) finishes at once with that report, and
nothing else is reused (tool errors, other settings, another caller's typed digest)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.support import service as w
from validator.errors import RegistryUnreachable
from validator.findings import Status
from validator.service.app import create_app
from validator.service.ondemand_store import ON_DEMAND, WEBHOOK, Reusable, newest

IMAGE = "registry.example.org/lab/nb:v1"
DIGEST = w.digest_of("lab/nb")


@contextmanager
def service(tmp_path: Path, runner: w.FakeRunner, **changes: Any) -> Iterator[TestClient]:
    config = w.settings(**changes)
    app = create_app(
        config, w.store(tmp_path / "service.sqlite3", config), runner, shutdown_grace=2.0
    )
    with TestClient(app) as client:
        yield client


def headers(user: str | None = None) -> dict[str, str]:
    found = w.admin_headers()
    if user is not None:
        found["X-JHIV-User"] = user
    return found


def validated(client: TestClient, body: dict[str, Any], user: str | None = None) -> dict[str, Any]:
    """POST a validation and wait for its end; the final document."""
    response = client.post("/api/v1/validations", json=body, headers=headers(user))
    assert response.status_code == 202, response.text
    url = response.headers["Location"]
    seen: dict[str, Any] = {}

    def done() -> bool:
        seen.update(client.get(url, headers=headers(user)).json())
        return seen.get("status") in ("done", "failed")

    w.wait_for(done, what=f"{url} to end")
    return seen


def runner() -> w.FakeRunner:
    # Every tag of lab/nb names the same digest, as after a retag.
    return w.FakeRunner(tags={"lab/nb:v1": DIGEST, "lab/nb:latest": DIGEST})


def test_the_same_digest_is_validated_once_and_the_second_request_reuses_it(
    tmp_path: Path,
) -> None:
    fake = runner()
    fake.verdicts[DIGEST] = Status.FAIL
    with service(tmp_path, fake) as client:
        first = validated(client, {"image": IMAGE}, "ada")
        # Another tag of the same digest, asked later: no second run.
        second = validated(client, {"image": "registry.example.org/lab/nb:latest"}, "ada")
    assert [image for image, _ in fake.validated] == [f"registry.example.org/lab/nb@{DIGEST}"]
    assert first["reused"] is None and first["report"]["cached"] is False
    assert second["status"] == "done" and second["verdict"] == "incompatible"
    assert second["digest"] == DIGEST
    assert second["reused"] == {
        "source": ON_DEMAND,
        "id": first["id"],
        "finished_at": first["finished_at"],
    }
    assert second["report"]["cached"] is True
    assert second["report"]["findings"] == first["report"]["findings"]


def test_a_webhook_result_is_reused_on_demand(tmp_path: Path) -> None:
    fake = runner()
    with service(tmp_path, fake) as client:
        made = client.post(
            "/api/v1/watches",
            json={"registry": "registry.example.org", "repository": "lab/*",
                  "profile": "dockerspawner"},
            headers=w.admin_headers(),
        )  # fmt: skip
        assert made.status_code == 201, made.text
        event = w.distribution_event("lab/nb", "v1", DIGEST)
        pushed = client.post(
            "/hooks/distribution",
            content=json.dumps({"events": [event]}).encode(),
            headers={"Authorization": f"Bearer {w.HOOK}", "Content-Type": w.V2},
        )
        assert pushed.status_code == 202, pushed.text

        def hooked() -> list[dict[str, Any]]:
            answer = client.get(
                "/api/v1/validations", params={"digest": DIGEST}, headers=w.admin_headers()
            ).json()
            return [v for v in answer["validations"] if v["status"] == "done"]

        w.wait_for(lambda: bool(hooked()), what="the webhook validation")
        original = hooked()[0]
        result = validated(client, {"image": IMAGE, "profile": "dockerspawner"}, "ada")
    assert len(fake.validated) == 1
    assert result["verdict"] == "compatible"
    assert result["reused"] == {
        "source": WEBHOOK,
        "id": original["id"],
        "finished_at": original["finished_at"],
    }


def test_tool_errors_and_failed_runs_are_not_reused(tmp_path: Path) -> None:
    fake = runner()
    fake.verdicts[DIGEST] = Status.ERROR
    fake.failures[DIGEST] = [RegistryUnreachable("the registry went away")]
    with service(tmp_path, fake) as client:
        failed = validated(client, {"image": IMAGE})
        errored = validated(client, {"image": IMAGE})
        fake.verdicts[DIGEST] = Status.PASS
        judged = validated(client, {"image": IMAGE})
        again = validated(client, {"image": IMAGE})
    assert failed["status"] == "failed" and failed["reused"] is None
    assert errored["verdict"] == "error" and errored["reused"] is None
    assert judged["verdict"] == "compatible" and judged["reused"] is None
    assert again["reused"] is not None and again["reused"]["id"] == judged["id"]
    assert len(fake.validated) == 3


def test_other_settings_are_other_results(tmp_path: Path) -> None:
    fake = runner()
    with service(tmp_path, fake) as client:
        validated(client, {"image": IMAGE})
        for changed in ({"hub_version": "5.3.0"}, {"mount_path": "/srv/data"},
                        {"profile": "z2jh"}):  # fmt: skip
            assert validated(client, {"image": IMAGE, **changed})["reused"] is None, changed
    assert len(fake.validated) == 4


def test_another_callers_result_is_reused_only_for_a_digest_the_registry_gave(
    tmp_path: Path,
) -> None:
    fake = runner()
    pinned = f"registry.example.org/lab/nb@{DIGEST}"
    with service(tmp_path, fake) as client:
        ada = validated(client, {"image": IMAGE}, "ada")
        # bob's tag was resolved with bob's own login: he may pull it, so may see it.
        bob_tag = validated(client, {"image": IMAGE}, "bob")
        # A digest typed by carol proves nothing about her access: validated anew.
        carol = validated(client, {"image": pinned}, "carol")
        # ada's own typed digest reuses ada's own result.
        ada_pinned = validated(client, {"image": pinned}, "ada")
    assert bob_tag["reused"] is not None
    assert bob_tag["reused"]["id"] is None  # ada's id is not bob's to see
    assert bob_tag["reused"]["finished_at"] == ada["finished_at"]
    assert carol["reused"] is None
    assert ada_pinned["reused"] is not None and ada_pinned["reused"]["id"] == ada["id"]
    assert len(fake.validated) == 2


def test_a_known_digest_does_not_wait_for_a_busy_validation_pool(tmp_path: Path) -> None:
    fake = runner()
    other = "registry.example.org/lab/other:v1"
    with service(tmp_path, fake, concurrency=1) as client:
        validated(client, {"image": IMAGE})
        fake.delay_s = 3.0
        busy = client.post("/api/v1/validations", json={"image": other}, headers=headers())
        w.wait_for(lambda: len(fake.validated) == 2, what="the other validation to start")
        again = validated(client, {"image": IMAGE})
        # The only validation thread is still busy: the reuse did not queue behind it.
        still = client.get(busy.headers["Location"], headers=headers()).json()
    assert again["reused"] is not None and again["verdict"] == "compatible"
    assert still["status"] == "running"
    assert len(fake.validated) == 2


def test_newest_picks_the_latest_finished() -> None:
    older = Reusable({}, WEBHOOK, 3, datetime(2026, 1, 1))
    later = Reusable({}, ON_DEMAND, "od-x", datetime(2026, 2, 1))
    unknown = Reusable({}, WEBHOOK, 4, None)
    assert newest([]) is None
    assert newest([older, later, unknown]) is later
    assert newest([unknown]) is unknown
