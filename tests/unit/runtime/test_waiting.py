"""The one poll loop and the strategies that run in it, on a fake clock and fake servers."""

from __future__ import annotations

import threading
import time

import pytest

from validator.runtime.hubstub import StubHub
from validator.runtime.listening import Listener
from validator.runtime.waiting import Exit, HubReady, StaysUp, UpResult, poll, wait_for


class FakeClock:
    """Time that moves only when the loop sleeps; records each pause."""

    def __init__(self) -> None:
        self.now = 100.0
        self.pauses: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.now += seconds


def test_returns_the_first_outcome_without_sleeping() -> None:
    clock = FakeClock()
    assert poll(lambda: "up", deadline=200, interval=1, clock=clock, sleep=clock.sleep) == "up"
    assert clock.pauses == []


def test_polls_at_the_interval_until_an_outcome() -> None:
    clock = FakeClock()
    answers = iter([None, None, 7])
    outcome = poll(
        lambda: next(answers), deadline=200, interval=0.5, clock=clock, sleep=clock.sleep
    )
    assert outcome == 7
    assert clock.pauses == [0.5, 0.5]


def test_a_zero_is_an_outcome_not_a_miss() -> None:
    clock = FakeClock()
    assert poll(lambda: 0, deadline=0, interval=1, clock=clock, sleep=clock.sleep) == 0


def test_the_last_pause_is_cut_to_the_deadline_and_one_look_follows() -> None:
    clock = FakeClock()
    looks: list[float] = []

    def never() -> None:
        looks.append(clock.now)

    assert poll(never, deadline=101.0, interval=0.4, clock=clock, sleep=clock.sleep) is None
    assert clock.pauses == pytest.approx([0.4, 0.4, 0.2])
    assert looks == pytest.approx([100.0, 100.4, 100.8, 101.0])


def test_looks_once_even_when_the_deadline_has_passed() -> None:
    clock = FakeClock()
    looks: list[float] = []
    assert (
        poll(lambda: looks.append(1), deadline=50, interval=1, clock=clock, sleep=clock.sleep)
        is None
    )
    assert looks == [1]
    assert clock.pauses == []


def test_a_set_cancel_stops_before_the_first_look() -> None:
    cancel = threading.Event()
    cancel.set()
    looks: list[int] = []
    assert poll(lambda: looks.append(1), deadline=1e12, interval=1, cancel=cancel) is None
    assert looks == []


def test_cancel_from_another_thread_ends_a_pause_at_once() -> None:
    cancel = threading.Event()
    threading.Timer(0.1, cancel.set).start()
    started = time.monotonic()
    assert poll(lambda: None, deadline=started + 30, interval=10, cancel=cancel) is None
    assert time.monotonic() - started < 5


class Strategy:
    def __init__(self, outcomes: list[str | None], interval: float = 0.0) -> None:
        self.outcomes = iter(outcomes)
        self.interval = interval
        self.timeouts = 0

    def check(self) -> str | None:
        return next(self.outcomes, None)

    def timed_out(self) -> str:
        self.timeouts += 1
        return "timed out"


def test_wait_for_returns_the_strategy_outcome() -> None:
    strategy = Strategy([None, "ready"])
    assert wait_for(strategy, deadline=time.monotonic() + 30) == "ready"
    assert strategy.timeouts == 0


def test_wait_for_asks_the_strategy_what_the_deadline_means() -> None:
    strategy = Strategy([], interval=0.01)
    assert wait_for(strategy, deadline=time.monotonic() + 0.05) == "timed out"
    assert strategy.timeouts == 1


def test_wait_for_is_none_only_when_cancelled() -> None:
    cancel = threading.Event()
    cancel.set()
    strategy = Strategy(["ready"])
    assert wait_for(strategy, deadline=time.monotonic() + 30, cancel=cancel) is None
    assert strategy.timeouts == 0


class FakeServer:
    """A server container whose exit code changes after a number of looks."""

    url = "http://127.0.0.1:9/user/x/"
    port = 8888

    def __init__(self, exits_after: int | None, code: int = 3) -> None:
        self.started_at = time.monotonic()
        self.looks = 0
        self.exits_after = exits_after
        self.code = code

    def exit_code(self) -> int | None:
        self.looks += 1
        if self.exits_after is not None and self.looks > self.exits_after:
            return self.code
        return None

    def printed(self, text: str) -> bool:
        return False

    def listeners(self) -> list[Listener] | None:
        return []


def test_stays_up_stops_early_on_exit() -> None:
    server = FakeServer(exits_after=2, code=0)
    started = time.monotonic()
    assert wait_for(StaysUp(server), deadline=started + 30) == Exit(0)
    assert server.looks == 3
    assert time.monotonic() - started < 5


def test_stays_up_to_the_deadline() -> None:
    server = FakeServer(exits_after=None)
    assert wait_for(StaysUp(server), deadline=time.monotonic() + 0.3) == Exit(None)
    assert server.looks >= 2


def test_stays_up_with_a_closed_window_looks_once() -> None:
    server = FakeServer(exits_after=0, code=137)
    assert wait_for(StaysUp(server), deadline=time.monotonic()) == Exit(137)
    assert server.looks == 1


def test_up_result_defaults_mean_no_answer() -> None:
    assert UpResult(seconds=None) == UpResult(None, None, None, None, False)


class AnsweringServer(FakeServer):
    """A fake container whose server is a real stub hub: ``{url}api`` answers 200."""

    def __init__(self, hub: StubHub) -> None:
        super().__init__(exits_after=None)
        self.url = hub.host_url + hub.hub_prefix


def test_hub_ready_measures_the_first_answer_from_the_start() -> None:
    with StubHub("5.4.6", "alice", "", "t0k", "127.0.0.1") as hub:
        server = AnsweringServer(hub)
        up = wait_for(HubReady(server, "is running at"), deadline=time.monotonic() + 30)
    assert up is not None
    assert up.status == 200
    assert up.seconds is not None and 0 <= up.seconds < 30


def test_hub_ready_ends_when_the_container_exits() -> None:
    server = FakeServer(exits_after=1, code=2)
    up = wait_for(HubReady(server, "is running at"), deadline=time.monotonic() + 30)
    assert up == UpResult(seconds=None, exit_code=2)


class Misplaced(FakeServer):
    def printed(self, text: str) -> bool:
        return text in "Jupyter Server is running at http://127.0.0.1:8888/"

    def listeners(self) -> list[Listener] | None:
        return [Listener("127.0.0.1", 8888, 1000)]


def test_hub_ready_ends_when_the_server_listens_out_of_reach() -> None:
    server = Misplaced(exits_after=None)
    up = wait_for(HubReady(server, "is running at"), deadline=time.monotonic() + 30)
    assert up == UpResult(seconds=None, listeners=[Listener("127.0.0.1", 8888, 1000)])


def test_hub_ready_at_the_deadline_reports_the_sockets() -> None:
    server = FakeServer(exits_after=None)
    up = wait_for(HubReady(server, "is running at"), deadline=time.monotonic() + 0.3)
    assert up == UpResult(seconds=None, timed_out=True, listeners=[])


class SlowServer(FakeServer):
    """A server that accepts connections and answers nothing, ever."""

    def __init__(self, address: str) -> None:
        super().__init__(exits_after=None)
        self.url = f"http://{address}/user/x/"


def test_hub_ready_ends_at_its_deadline_even_when_requests_hang() -> None:
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    host, port = listener.getsockname()
    try:
        server = SlowServer(f"{host}:{port}")
        started = time.monotonic()
        deadline = started + 1.0
        # The request's read timeout (5 s) is cut to what is left of the wait.
        up = wait_for(HubReady(server, "is running at", deadline=deadline), deadline=deadline)
        elapsed = time.monotonic() - started
    finally:
        listener.close()
    assert up is not None and up.timed_out
    assert elapsed < 2.5, elapsed
