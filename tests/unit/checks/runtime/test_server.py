"""The stability window: counted from the first answer, waited out, reported in seconds."""

from __future__ import annotations

import dataclasses
import threading
import time

from tests.unit.checks.runtime.candidate_server import Answer, CandidateServer
from validator.checks.runtime.server import probe_stability, stays_up
from validator.findings import Status
from validator.options import Options
from validator.profiles import CommandMode, load_profile
from validator.runtime.spawn import Candidate
from validator.runtime.waiting import UpResult

PROFILE = load_profile("dockerspawner")
P = PROFILE.service_prefix
API = {("GET", P + "api"): Answer.json(200, {"version": "2.14.2"})}


class Dying(Candidate):
    """A candidate whose container exits ``dies_after`` seconds after ``started_at``."""

    dies_after: float | None = None
    log_text = ""

    def exit_code(self) -> int | None:
        if self.dies_after is not None and time.monotonic() - self.started_at >= self.dies_after:
            return 1
        return None

    def logs(self) -> str:
        return self.log_text


def _candidate(server: CandidateServer, *, dies_after: float | None = None) -> Dying:
    candidate = Dying(None, "127.0.0.1", server.port, P, "t", CommandMode.IMAGE)
    candidate.dies_after = dies_after
    candidate.log_text = "serving\nentrypoint: post-start task failed\n"
    return candidate


def test_the_window_counts_from_the_first_answer_not_from_the_probes() -> None:
    with CandidateServer(API) as server:
        candidate = _candidate(server)
        ctx = dataclasses.replace(
            server.context(PROFILE),
            candidate=candidate,
            options=Options(stable_window=1.0),
            up=UpResult(seconds=0.0, status=200),
        )
        time.sleep(0.6)  # the other probes took most of the window
        began = time.monotonic()
        finding = probe_stability(ctx)
        waited = time.monotonic() - began
    assert finding.status is Status.PASS
    assert waited < 0.8  # only what was left of the window
    assert finding.message.startswith("still up and answering 1.")
    assert finding.message.endswith("s after its first answer")


def test_a_death_inside_the_window_names_the_exit_and_the_last_log_line() -> None:
    with CandidateServer(API) as server:
        candidate = _candidate(server, dies_after=0.3)
        finding = stays_up(candidate, candidate.started_at, candidate.started_at + 5.0)
    assert finding.status is Status.FAIL
    assert "exited with code 1" in finding.message
    assert "'entrypoint: post-start task failed'" in finding.message
    assert finding.evidence and "post-start task failed" in finding.evidence


def test_a_server_answering_500_at_the_end_fails() -> None:
    routes = {("GET", P + "api"): Answer(500, "broken")}
    with CandidateServer(routes) as server:
        candidate = _candidate(server)
        finding = stays_up(candidate, candidate.started_at, candidate.started_at)
    assert finding.status is Status.FAIL
    assert "answers 500" in finding.message


def test_cancel_ends_the_wait_at_once() -> None:
    cancel = threading.Event()
    with CandidateServer(API) as server:
        candidate = _candidate(server)
        threading.Timer(0.2, cancel.set).start()
        began = time.monotonic()
        finding = stays_up(candidate, candidate.started_at, began + 30.0, cancel=cancel)
    assert time.monotonic() - began < 2.0
    assert finding.status is Status.SKIP


def test_the_default_window_is_ten_seconds() -> None:
    assert Options().stable_window == 10.0
