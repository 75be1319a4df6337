"""The service over HTTP, with the validator replaced by a fake runner: each receiver
from its real-shaped sample, every way a request is refused, the admin API, results
and badges, and the worker's retries, callbacks and restart."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support import service as w
from validator.errors import RegistryAuthError, RegistryUnreachable
from validator.findings import Status
from validator.registry.credentials import Secret
from validator.service.settings import Settings

REGISTRY_PASSWORD = "reg-pw-" + "5d" * 10
CALLBACK_SECRET = "cb-" + "6c" * 10
SECRETS = (w.ADMIN, w.HOOK, w.URL_TOKEN, REGISTRY_PASSWORD, CALLBACK_SECRET)


def service(
    tmp_path: Path,
    *,
    worker: bool = True,
    runner: w.FakeRunner | None = None,
    callback: Callable[..., bool] | None = None,
    **changes: Any,
) -> AbstractContextManager[tuple[TestClient, w.FakeRunner, Settings]]:
    return w.serving(tmp_path, runner, worker=worker, callback=callback, **changes)


def watch(client: TestClient, **body: Any) -> dict[str, Any]:
    body = {
        "registry": "registry.example.org",
        "repository": "lab/*",
        "profile": "dockerspawner",
        **body,
    }
    response = client.post("/api/v1/watches", json=body, headers=w.admin_headers())
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def hook(client: TestClient, document: Any, *, content_type: str = w.V2, token: str = w.HOOK,
         path: str = "/hooks/distribution") -> Any:  # fmt: skip
    return client.post(
        path,
        content=json.dumps(document).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": content_type},
    )


def signature(body: bytes, secret: str = w.GITHUB) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def github_post(client: TestClient, body: bytes, delivery: str, *, secret: str = w.GITHUB,
                event: str = "registry_package") -> Any:  # fmt: skip
    return client.post(
        "/hooks/github",
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery,
            "X-Hub-Signature-256": signature(body, secret),
        },
    )


def results(client: TestClient, image: str) -> dict[str, Any]:
    response = client.get("/api/v1/validations", params={"image": image}, headers=w.admin_headers())
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def done(client: TestClient, image: str, count: int = 1) -> list[dict[str, Any]]:
    def finished() -> bool:
        found = results(client, image)["validations"]
        return len(found) >= count and all(v["status"] in ("done", "failed") for v in found)

    w.wait_for(finished, what=f"the validation of {image}")
    validations: list[dict[str, Any]] = results(client, image)["validations"]
    return validations


# --- each receiver, from its sample -----------------------------------------------------


def test_distribution_push_is_validated_and_answered_fast(tmp_path: Path) -> None:
    with service(tmp_path) as (client, runner, _):
        watch(client)
        response = hook(client, w.payload("distribution-v2-index-push.json"))
        assert response.status_code == 202
        assert response.json()["queued"] == 1 and response.json()["ignored_total"] == 2
        [found] = done(client, "registry.example.org/lab/notebook:2025.11")
        assert found["verdict"] == "compatible"
        assert found["digest"] == "sha256:" + "2" * 64
        assert found["tags"] == ["registry.example.org/lab/notebook:2025.11"]
        assert runner.validated == [(found["image"], "dockerspawner")]


def test_events_v1_from_debian_registry_and_gitlab(tmp_path: Path) -> None:
    with service(tmp_path) as (client, _, _):
        watch(client, registry="127.0.0.1:18098", repository="team/x")
        watch(client, registry="gitlab.example.com:5050", repository="group/project/*")
        assert (
            hook(
                client, w.payload("distribution-v1-manifest-push.json"), content_type=w.V1
            ).status_code
            == 202
        )
        assert hook(client, w.payload("gitlab-push.json"), path="/hooks/gitlab").status_code == 202
        assert done(client, "127.0.0.1:18098/team/x:v1")[0]["verdict"] == "compatible"
        assert done(client, "gitlab.example.com:5050/group/project/notebook:main")


def test_harbor_default_and_cloudevents_with_verbatim_auth_header(tmp_path: Path) -> None:
    with service(tmp_path) as (client, _, _):
        watch(client, registry="harbor.example.net", repository="science/jupyter")
        for name in ("harbor-push-artifact.json", "harbor-cloudevents-push.json"):
            response = client.post(
                "/hooks/harbor",
                content=json.dumps(w.payload(name)).encode(),
                headers={"Authorization": w.HOOK, "Content-Type": "application/json"},
            )
            assert response.status_code == 202, response.text
        assert done(client, "harbor.example.net/science/jupyter:v3")
        assert done(client, "harbor.example.net/science/jupyter:latest")


def test_github_signed_delivery_then_replay_and_forgery(tmp_path: Path) -> None:
    body = json.dumps(w.payload("github-registry-package-published.json")).encode()
    with service(tmp_path) as (client, runner, _):
        watch(client, registry="ghcr.io", repository="example-org/notebook")
        assert github_post(client, body, "d-1").status_code == 202
        replay = github_post(client, body, "d-1")
        assert replay.status_code == 409 and "accepted before" in replay.json()["detail"]
        forged = github_post(client, body, "d-2", secret="guess")
        assert forged.status_code == 403
        unsigned = client.post(
            "/hooks/github", content=body,
            headers={"Content-Type": "application/json", "X-GitHub-Delivery": "d-3"},
        )  # fmt: skip
        assert unsigned.status_code == 401
        # A signature of the original body does not cover a changed one.
        tampered = client.post(
            "/hooks/github",
            content=body.replace(b"1.4.0", b"6.6.6"),
            headers={
                "Content-Type": "application/json",
                "X-GitHub-Event": "registry_package",
                "X-GitHub-Delivery": "d-4",
                "X-Hub-Signature-256": signature(body),
            },
        )
        assert tampered.status_code == 403
        assert github_post(client, b"{}", "d-5", event="ping").json() == {"pong": True}
        [found] = done(client, "ghcr.io/example-org/notebook:1.4.0")
        assert len(runner.validated) == 1 and found["digest"] == "sha256:" + "7" * 64


def test_docker_hub_and_quay_resolve_the_digest_first(tmp_path: Path) -> None:
    runner = w.FakeRunner(tags={"example/notebook:2025-11-20": w.DIGEST_A})
    with service(tmp_path, runner=runner) as (client, _, _):
        watch(client, registry="docker.io", repository="example/notebook")
        watch(client, registry="quay.io", repository="example/*", username="robot",
              password=REGISTRY_PASSWORD)  # fmt: skip
        response = client.post(
            f"/hooks/dockerhub/{w.URL_TOKEN}", json=w.payload("dockerhub-push.json")
        )
        assert response.status_code == 202 and response.json()["resolving"] == 1
        assert (
            client.post(f"/hooks/quay/{w.URL_TOKEN}", json=w.payload("quay-push.json")).status_code
            == 202
        )
        [hub] = done(client, "docker.io/example/notebook:2025-11-20")
        assert hub["digest"] == w.DIGEST_A
        assert done(client, "quay.io/example/notebook:latest")
        assert done(client, "quay.io/example/notebook:v2")
        assert "docker.io/example/notebook:2025-11-20" in runner.resolved
        quay_logins = [a.credentials_for("quay.io") for a in runner.accesses]
        assert any(c is not None and c.password.reveal() == REGISTRY_PASSWORD for c in quay_logins)
        wrong = client.post("/hooks/quay/not-the-token", json=w.payload("quay-push.json"))
        assert wrong.status_code == 403


# --- refusals -----------------------------------------------------------------------------


def test_missing_or_wrong_token_is_refused(tmp_path: Path) -> None:
    with service(tmp_path, worker=False) as (client, _, _):
        document = w.payload("distribution-v1-manifest-push.json")
        missing = client.post("/hooks/distribution", json=document)
        assert missing.status_code == 401 and "Bearer" in missing.headers["WWW-Authenticate"]
        assert hook(client, document, token="wrong").status_code == 403
        assert hook(client, document, path="/hooks/harbor", token="wrong").status_code == 403


def test_malformed_and_mislabelled_bodies(tmp_path: Path) -> None:
    with service(tmp_path, worker=False) as (client, _, _):
        headers = {"Authorization": f"Bearer {w.HOOK}", "Content-Type": w.V1}
        broken = client.post("/hooks/distribution", content=b'{"events": [', headers=headers)
        assert broken.status_code == 400 and "not valid JSON" in broken.json()["detail"]
        shape = client.post("/hooks/distribution", content=b'{"events": 3}', headers=headers)
        assert (
            shape.status_code == 400 and "'events' must be a JSON array" in shape.json()["detail"]
        )
        typed = hook(client, {"events": []}, content_type="text/plain")
        assert typed.status_code == 415
        form_body = b"payload=%7B%7D"
        form = client.post(
            "/hooks/github",
            content=form_body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-GitHub-Delivery": "x",
                "X-Hub-Signature-256": signature(form_body),
            },
        )
        assert form.status_code == 415 and "application/json" in form.json()["detail"]
        bad_api = client.post(
            "/api/v1/watches", content=b"{nope",
            headers={**w.admin_headers(), "Content-Type": "application/json"},
        )  # fmt: skip
        assert bad_api.status_code == 400


def test_oversized_bodies_are_refused_with_413(tmp_path: Path) -> None:
    with service(tmp_path, worker=False, max_body=1024) as (client, _, _):
        big = json.dumps({"events": [], "pad": "x" * 2000}).encode()
        declared = client.post(
            "/hooks/distribution", content=big,
            headers={"Authorization": f"Bearer {w.HOOK}", "Content-Type": w.V1},
        )  # fmt: skip
        assert declared.status_code == 413

        def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer
            for _ in range(8):
                yield b" " * 200

        streamed = client.post(
            "/hooks/distribution", content=chunks(),
            headers={"Authorization": f"Bearer {w.HOOK}", "Content-Type": w.V1},
        )  # fmt: skip
        assert streamed.status_code == 413
        metrics = client.get("/metrics").text
        assert (
            'jhiv_webhook_requests_total{outcome="too_large",receiver="distribution"} 2.0'
            in metrics
        )


def test_rate_limit_per_source(tmp_path: Path) -> None:
    with service(tmp_path, worker=False, rate=0.001, burst=3) as (client, _, _):
        codes = [hook(client, {"events": []}).status_code for _ in range(5)]
        assert codes == [202, 202, 202, 429, 429]
        limited = hook(client, {"events": []})
        assert int(limited.headers["Retry-After"]) >= 1


def test_receivers_without_a_secret_are_off(tmp_path: Path) -> None:
    with service(tmp_path, worker=False, github_secret=None, url_token=None) as (client, _, _):
        assert github_post(client, b"{}", "x").status_code == 404
        assert client.post("/hooks/dockerhub/anything", json={}).status_code == 404


# --- admin API ----------------------------------------------------------------------------


def test_watch_lifecycle_and_admin_auth(tmp_path: Path) -> None:
    with service(tmp_path, worker=False) as (client, _, _):
        assert client.get("/api/v1/watches").status_code == 401
        assert (
            client.get("/api/v1/watches", headers={"Authorization": "Bearer nope"}).status_code
            == 403
        )
        created = watch(client, username="robot", password=REGISTRY_PASSWORD,
                        callback_url="https://hooks.example/v", callback_secret=CALLBACK_SECRET)  # fmt: skip
        assert created["has_password"] and created["has_callback_secret"]
        assert REGISTRY_PASSWORD not in json.dumps(created)
        listed = client.get("/api/v1/watches", headers=w.admin_headers()).json()
        assert [x["id"] for x in listed] == [created["id"]]
        again = client.post("/api/v1/watches", json={"registry": "registry.example.org",
                            "repository": "lab/*", "profile": "dockerspawner"}, headers=w.admin_headers())  # fmt: skip
        assert again.status_code == 409
        url = f"/api/v1/watches/{created['id']}"
        assert client.delete(url, headers=w.admin_headers()).status_code == 204
        assert client.get(url, headers=w.admin_headers()).status_code == 404
        assert client.delete(url, headers=w.admin_headers()).status_code == 404


def test_watch_validation_never_echoes_a_password(tmp_path: Path) -> None:
    with service(tmp_path, worker=False) as (client, _, _):
        bad = client.post(
            "/api/v1/watches",
            json={"registry": "Not A Host", "repository": "lab/*", "profile": "nope",
                  "pasword": REGISTRY_PASSWORD, "password": REGISTRY_PASSWORD},
            headers=w.admin_headers(),
        )  # fmt: skip
        assert bad.status_code == 422
        assert REGISTRY_PASSWORD not in bad.text
        fields = {tuple(e["loc"]) for e in bad.json()["detail"]}
        assert {("body", "registry"), ("body", "profile"), ("body", "pasword")} <= fields


def test_no_encryption_key_no_passwords(tmp_path: Path) -> None:
    with service(tmp_path, worker=False, secret_keys=()) as (client, _, _):
        refused = client.post(
            "/api/v1/watches",
            json={"registry": "r.example", "repository": "a/b", "username": "u", "password": "p"},
            headers=w.admin_headers(),
        )
        assert refused.status_code == 503 and "JHIV_SERVICE_SECRET_KEYS" in refused.json()["detail"]
        assert watch(client, registry="r.example", repository="a/b")["has_password"] is False


# --- results, badges, health --------------------------------------------------------------


def test_results_by_repository_tag_and_digest_and_badges(tmp_path: Path) -> None:
    runner = w.FakeRunner(verdicts={w.DIGEST_B: Status.FAIL})
    with service(tmp_path, runner=runner) as (client, _, _):
        watch(client)
        events = [
            w.distribution_event("lab/nb", "good", w.DIGEST_A),
            w.distribution_event("lab/nb", "bad", w.DIGEST_B),
        ]
        assert hook(client, {"events": events}).status_code == 202
        assert done(client, "registry.example.org/lab/nb", count=2)
        assert (
            results(client, "registry.example.org/lab/nb:bad")["validations"][0]["verdict"]
            == "incompatible"
        )
        by_digest = results(client, f"registry.example.org/lab/nb@{w.DIGEST_A}")
        assert [v["verdict"] for v in by_digest["validations"]] == ["compatible"]
        alone = client.get(
            "/api/v1/validations", params={"digest": w.DIGEST_A}, headers=w.admin_headers()
        )
        assert alone.json()["validations"][0]["id"] == by_digest["validations"][0]["id"]
        detail = client.get(
            by_digest["validations"][0]["links"]["self"], headers=w.admin_headers()
        ).json()
        assert (
            detail["report"]["verdict"] == "compatible" and detail["report"]["digest"] == w.DIGEST_A
        )

        def badge(image: str) -> str:
            response = client.get(
                "/api/v1/badge", params={"image": image}, headers=w.admin_headers()
            )
            assert response.headers["content-type"] == "image/svg+xml"
            return response.text

        assert "jupyterhub 5.4: compatible" in badge("registry.example.org/lab/nb:good")
        assert "jupyterhub 5.4: incompatible" in badge("registry.example.org/lab/nb:bad")
        assert "jupyterhub: unknown" in badge("registry.example.org/lab/nb:never")
        assert (
            client.get(
                "/api/v1/validations", params={"image": "Bad Name"}, headers=w.admin_headers()
            ).status_code
            == 400
        )
        assert (
            client.get(
                "/api/v1/validations", params={"image": "registry.example.org/lab/nb"}
            ).status_code
            == 401
        )


def test_public_results_need_no_token_but_watches_still_do(tmp_path: Path) -> None:
    with service(tmp_path, worker=False, public_results=True) as (client, _, _):
        assert (
            client.get(
                "/api/v1/badge", params={"image": "registry.example.org/lab/nb:v1"}
            ).status_code
            == 200
        )
        assert (
            client.get(
                "/api/v1/validations", params={"image": "registry.example.org/lab/nb"}
            ).status_code
            == 200
        )
        assert client.get("/api/v1/watches").status_code == 401


def test_health_metrics_and_openapi(tmp_path: Path) -> None:
    with service(tmp_path, worker=False) as (client, _, _):
        health = client.get("/healthz").json()
        assert health["status"] == "ok" and health["workers"] == 2
        assert "jhiv_queue_jobs" in client.get("/metrics").text
        spec = client.get("/openapi.json").json()
        for path in ("/hooks/distribution", "/hooks/github", "/hooks/dockerhub/{token}",
                     "/api/v1/watches", "/api/v1/validations", "/api/v1/badge", "/healthz"):  # fmt: skip
            assert path in spec["paths"], path


# --- the worker --------------------------------------------------------------------------


def test_burst_of_duplicates_validates_each_digest_once(tmp_path: Path) -> None:
    with service(tmp_path, runner=w.FakeRunner(delay_s=0.05)) as (client, runner, _):
        watch(client)
        digests = [w.digest_of(f"image-{i}") for i in range(5)]
        for i in range(50):
            event = w.distribution_event("lab/nb", f"t{i % 5}", digests[i % 5])
            assert hook(client, {"events": [event]}).status_code == 202
        assert done(client, "registry.example.org/lab/nb", count=5)
        assert sorted(d for _, d in runner.validated) == ["dockerspawner"] * 5
        assert len({image for image, _ in runner.validated}) == 5


def test_transient_registry_errors_are_retried_with_backoff(tmp_path: Path) -> None:
    runner = w.FakeRunner(
        failures={w.DIGEST_A: [RegistryUnreachable("registry down"), RegistryUnreachable("still")]}
    )
    with service(tmp_path, runner=runner) as (client, _, _):
        watch(client)
        hook(client, {"events": [w.distribution_event("lab/nb", "v1", w.DIGEST_A)]})
        [found] = done(client, "registry.example.org/lab/nb:v1")
        assert found["status"] == "done" and found["attempts"] == 3
        assert 'jhiv_job_retries_total{kind="validation"} 2.0' in client.get("/metrics").text


def test_permanent_errors_fail_at_once_and_transient_ones_after_max_attempts(
    tmp_path: Path,
) -> None:
    runner = w.FakeRunner(
        failures={
            w.DIGEST_A: [RegistryAuthError("registry refused the login of user 'robot'")],
            w.DIGEST_B: [RegistryUnreachable("down")] * 5,
        }
    )
    with service(tmp_path, runner=runner, max_attempts=3) as (client, _, _):
        watch(client)
        events = [w.distribution_event("lab/nb", "a", w.DIGEST_A),
                  w.distribution_event("lab/nb", "b", w.DIGEST_B)]  # fmt: skip
        hook(client, {"events": events})
        auth_failed = done(client, "registry.example.org/lab/nb:a")[0]
        assert auth_failed["status"] == "failed" and auth_failed["attempts"] == 1
        assert "refused the login" in auth_failed["error"]
        gave_up = done(client, "registry.example.org/lab/nb:b")[0]
        assert gave_up["status"] == "failed" and gave_up["attempts"] == 3
        svg = client.get("/api/v1/badge", params={"image": "registry.example.org/lab/nb:b"},
                         headers=w.admin_headers()).text  # fmt: skip
        assert "failed" in svg


def test_signed_callback_with_the_verdict(tmp_path: Path) -> None:
    sent: list[tuple[str, dict[str, Any], Secret | None]] = []

    def capture(url: str, document: dict[str, Any], secret: Secret | None) -> bool:
        sent.append((url, document, secret))
        return True

    with service(tmp_path, callback=capture, public_url="https://jhiv.example") as (client, _, _):
        watch(client, callback_url="https://hooks.example/verdict", callback_secret=CALLBACK_SECRET)
        hook(client, {"events": [w.distribution_event("lab/nb", "v1", w.DIGEST_A)]})
        done(client, "registry.example.org/lab/nb:v1")
        w.wait_for(lambda: bool(sent), what="the callback")
    url, document, secret = sent[0]
    assert url == "https://hooks.example/verdict"
    assert document["verdict"] == "compatible" and document["digest"] == w.DIGEST_A
    assert document["result_url"].startswith("https://jhiv.example/api/v1/validations/")
    assert secret is not None and secret.reveal() == CALLBACK_SECRET


def test_callback_signature_can_be_checked_by_the_receiver() -> None:
    from validator.service import callback

    posted: list[tuple[bytes, dict[str, str]]] = []
    statuses = iter([500, 202])

    def post(url: str, body: bytes, headers: dict[str, str]) -> int:
        posted.append((body, headers))
        return next(statuses)

    assert callback.send("https://x.example", {"validation_id": 1, "verdict": "compatible"},
                         Secret("k3y"), post=post, sleep=lambda s: None)  # fmt: skip
    body, headers = posted[-1]
    expected = "sha256=" + hmac.new(b"k3y", body, hashlib.sha256).hexdigest()
    assert headers["X-JHIV-Signature-256"] == expected and len(posted) == 2


def test_accepted_jobs_run_after_a_restart(tmp_path: Path) -> None:
    with service(tmp_path, worker=False) as (client, runner, _):
        watch(client)
        assert (
            hook(client, {"events": [w.distribution_event("lab/nb", "v1", w.DIGEST_A)]}).json()[
                "queued"
            ]
            == 1
        )
        assert runner.validated == []
    # A new process on the same database finds the job and runs it.
    with service(tmp_path) as (client, runner, _):
        assert done(client, "registry.example.org/lab/nb:v1")[0]["verdict"] == "compatible"
        assert len(runner.validated) == 1


def test_no_secret_reaches_the_logs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    runner = w.FakeRunner(
        failures={w.DIGEST_B: [RegistryAuthError(f"rejected {REGISTRY_PASSWORD}")]}
    )
    with service(tmp_path, runner=runner, callback=lambda *a: True) as (client, _, _):
        watch(client, username="robot", password=REGISTRY_PASSWORD,
              callback_url="https://hooks.example/v", callback_secret=CALLBACK_SECRET)  # fmt: skip
        hook(client, {"events": [w.distribution_event("lab/nb", "v1", w.DIGEST_A),
                                 w.distribution_event("lab/nb", "v2", w.DIGEST_B)]})  # fmt: skip
        client.post(f"/hooks/dockerhub/{w.URL_TOKEN}", json=w.payload("dockerhub-push.json"))
        failed = done(client, "registry.example.org/lab/nb:v2")[0]
        assert REGISTRY_PASSWORD not in failed["error"] and "********" in failed["error"]
    # The test client's own request log (httpx) is the sender's, not the service's.
    text = "\n".join(
        r.getMessage() for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))
    )
    for secret in SECRETS:
        assert secret not in text
    assert "/hooks/dockerhub/***" in text
