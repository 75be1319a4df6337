"""One watch's flood must not hurt the others: the claim is round-robin across watches,
a watch's queue is capped, one request may queue only so much, and an oversized request
is refused before anything is stored."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.support import service as w
from tests.support.service import digest_of
from tests.support.stores import enqueue
from tests.unit.service.test_app import hook, service, watch
from validator.service.events import Push
from validator.service.store import ResolveJob, Store, ValidateJob, WatchSpec


def _watch(store: Store, repository: str) -> int:
    return store.create_watch(WatchSpec("reg.example", repository, "*", "dockerspawner")).id


def _flood(store: Store, watch_id: int, repository: str, count: int, tag: str = "v") -> None:
    store.accept(
        [
            enqueue(store, watch_id, Push("reg.example", repository, f"{tag}{i}", digest_of(f"{repository}{tag}{i}")))
            for i in range(count)
        ]
    )  # fmt: skip


def _repository(job: ResolveJob | ValidateJob | None) -> str:
    assert job is not None
    return job.repository


def test_a_push_behind_another_watchs_backlog_is_taken_next(store: Store) -> None:
    a, b = _watch(store, "flood/a"), _watch(store, "quiet/b")
    _flood(store, a, "flood/a", 200)
    assert [_repository(store.claim()) for _ in range(3)] == ["flood/a"] * 3
    _flood(store, b, "quiet/b", 1)
    # B was never served, A just was: B's one job is the very next, then A goes on.
    assert [_repository(store.claim()) for _ in range(3)] == ["quiet/b", "flood/a", "flood/a"]


def test_three_busy_watches_take_turns(store: Store) -> None:
    ids = {name: _watch(store, name) for name in ("x/one", "x/two", "x/three")}
    for name, watch_id in ids.items():
        _flood(store, watch_id, name, 4)
    order = [_repository(store.claim()) for _ in range(12)]
    assert order[:3] == ["x/one", "x/two", "x/three"]  # first come, then turns
    for start in range(0, 12, 3):
        assert sorted(order[start : start + 3]) == sorted(ids)
    assert store.claim() is None


def test_a_watchs_queue_is_capped_and_a_known_digest_still_counts_as_known(store: Store) -> None:
    a, b = _watch(store, "flood/a"), _watch(store, "quiet/b")
    pushes = [Push("reg.example", "flood/a", f"t{i}", digest_of(f"a{i}")) for i in range(8)]
    accepted = store.accept([enqueue(store, a, p) for p in pushes], watch_cap=5)
    assert accepted.queued == 5 and len(accepted.over_cap) == 3
    assert [i.push.tag for i in accepted.over_cap] == ["t5", "t6", "t7"]
    # The same digest again under another tag is no new job: deduplicated, not refused.
    again = Push("reg.example", "flood/a", "latest", digest_of("a0"))
    assert store.accept([enqueue(store, a, again)], watch_cap=5).deduplicated == 1
    # Another watch is not affected by A's full queue.
    other = Push("reg.example", "quiet/b", "v1", digest_of("b"))
    assert store.accept([enqueue(store, b, other)], watch_cap=5).queued == 1
    # A job taken off the queue frees a place.
    assert store.claim() is not None
    assert store.accept([enqueue(store, a, pushes[5])], watch_cap=5).queued == 1


def test_the_app_runs_a_quiet_watchs_push_within_two_jobs_of_a_flood(tmp_path: Path) -> None:
    runner = w.FakeRunner(delay_s=0.02)
    with service(tmp_path, runner=runner, concurrency=1, max_watch_jobs=1000) as (client, _, _):
        watch(client, repository="flood/*")
        watch(client, repository="quiet/*")
        for batch in range(3):  # 300 jobs for the flooding watch, 100 per request
            events = [
                w.distribution_event("flood/nb", f"t{batch}-{i}", digest_of(f"f{batch}-{i}"))
                for i in range(100)
            ]
            answer = hook(client, {"events": events})
            assert answer.status_code == 202 and answer.json()["queued"] == 100
        pushed_after = len(runner.validated)
        started = time.monotonic()
        quiet = hook(client, {"events": [w.distribution_event("quiet/nb", "v1", w.DIGEST_A)]})
        assert quiet.status_code == 202 and quiet.json()["queued"] == 1
        image = f"registry.example.org/quiet/nb@{w.DIGEST_A}"
        w.wait_for(lambda: (image, "dockerspawner") in runner.validated, what="the quiet push")
        position = runner.validated.index((image, "dockerspawner"))
        waited = time.monotonic() - started
        assert position <= pushed_after + 2, (position, pushed_after)
        assert len(runner.validated) < 300  # the flood was still being worked off
    print(f"quiet push ran as job {position + 1} ({position - pushed_after} after its push), "
          f"{waited:.2f} s after it was acknowledged, behind a 300-job flood")  # fmt: skip


def test_one_request_may_queue_only_so_much(tmp_path: Path) -> None:
    with service(tmp_path, worker=False, max_request_jobs=10) as (client, _, _):
        watch(client)
        events = [w.distribution_event("lab/nb", f"t{i}", digest_of(f"n{i}")) for i in range(11)]
        refused = hook(client, {"events": events})
        assert refused.status_code == 413
        assert "11 jobs" in refused.json()["detail"] and "at most 10" in refused.json()["detail"]
        assert client.get("/healthz").json()["queue"] == {}  # nothing was stored
        assert hook(client, {"events": events[:10]}).json()["queued"] == 10
        assert 'jhiv_webhook_over_cap_total{cap="request"} 1.0' in client.get("/metrics").text


def test_the_issues_3000_event_request_is_refused_at_once(tmp_path: Path) -> None:
    with service(tmp_path, worker=False) as (client, _, _):
        watch(client)
        events = [w.distribution_event("lab/nb", f"t{i}", digest_of(f"n{i}")) for i in range(3000)]
        body = json.dumps({"events": events}).encode()
        started = time.monotonic()
        refused = client.post(
            "/hooks/distribution", content=body,
            headers={"Authorization": f"Bearer {w.HOOK}", "Content-Type": w.V2},
        )  # fmt: skip
        took = time.monotonic() - started
        assert refused.status_code == 413, refused.text
        assert client.get("/healthz").json()["queue"] == {}
    print(f"{len(body)} byte request of 3000 pushes: 413 in {took * 1000:.0f} ms")


def test_a_full_watch_acknowledges_and_says_why(tmp_path: Path) -> None:
    with service(tmp_path, worker=False, max_watch_jobs=5) as (client, _, _):
        watch(client, repository="flood/*")
        watch(client, repository="quiet/*")
        events = [w.distribution_event("flood/nb", f"t{i}", digest_of(f"f{i}")) for i in range(8)]
        answer = hook(client, {"events": events}).json()
        assert answer["queued"] == 5 and answer["ignored_total"] == 3
        assert all("has 5 jobs waiting" in i["reason"] for i in answer["ignored"])
        quiet = hook(client, {"events": [w.distribution_event("quiet/nb", "v1", w.DIGEST_A)]})
        assert quiet.json()["queued"] == 1
        assert 'jhiv_webhook_over_cap_total{cap="watch"} 3.0' in client.get("/metrics").text
