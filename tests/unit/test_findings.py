"""The verdict and exit-code contract of Report: the one rule every renderer repeats."""

from __future__ import annotations

import pytest

from validator.findings import Finding, Report, Status, Verdict


def _report(*statuses: Status, error: str | None = None) -> Report:
    report = Report(
        reference="docker.io/library/ubuntu:latest",
        profile="jupyter4nfdi",
        hub_version="5.4.6",
        validator_version="0.1.0",
        error=error,
    )
    for i, status in enumerate(statuses):
        report.add(Finding(f"check-{i}", status, f"{status.value} message"))
    return report


@pytest.mark.parametrize(
    ("statuses", "error", "verdict", "code"),
    [
        ((), None, Verdict.COMPATIBLE, 0),
        ((Status.PASS,), None, Verdict.COMPATIBLE, 0),
        ((Status.PASS, Status.WARN, Status.SKIP), None, Verdict.COMPATIBLE, 0),
        ((Status.WARN, Status.WARN), None, Verdict.COMPATIBLE, 0),
        ((Status.SKIP,), None, Verdict.COMPATIBLE, 0),
        ((Status.FAIL,), None, Verdict.INCOMPATIBLE, 1),
        ((Status.PASS, Status.FAIL, Status.WARN), None, Verdict.INCOMPATIBLE, 1),
        # A failure is a definite answer, even next to errors.
        ((Status.FAIL, Status.ERROR), None, Verdict.INCOMPATIBLE, 1),
        ((Status.FAIL,), "Docker went away", Verdict.INCOMPATIBLE, 1),
        ((Status.ERROR,), None, Verdict.ERROR, 2),
        ((Status.PASS, Status.ERROR, Status.WARN), None, Verdict.ERROR, 2),
        ((), "Docker is not running", Verdict.ERROR, 2),
        ((Status.PASS, Status.WARN), "interrupted", Verdict.ERROR, 2),
    ],
)
def test_verdict_and_exit_code(
    statuses: tuple[Status, ...], error: str | None, verdict: Verdict, code: int
) -> None:
    report = _report(*statuses, error=error)
    assert report.verdict is verdict
    assert report.exit_code == code


def test_counts_cover_every_status() -> None:
    report = _report(Status.PASS, Status.PASS, Status.FAIL, Status.SKIP)
    assert report.counts() == {"pass": 2, "warn": 0, "fail": 1, "skip": 1, "error": 0}


def test_status_of_and_by_status() -> None:
    report = _report(Status.PASS, Status.FAIL)
    assert report.status_of("check-1") is Status.FAIL
    assert report.status_of("no-such-check") is None
    assert [f.check_id for f in report.by_status(Status.PASS)] == ["check-0"]


def test_with_duration_rounds_and_keeps_the_rest() -> None:
    finding = Finding("c", Status.WARN, "m", fix="f")
    timed = finding.with_duration(1.23456)
    assert timed.duration_s == 1.235
    assert (timed.check_id, timed.status, timed.fix) == ("c", Status.WARN, "f")
    assert finding.duration_s == 0.0
