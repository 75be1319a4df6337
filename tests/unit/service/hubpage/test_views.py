"""What the check page shows: failing rows first, causes and fixes only where they help."""

from __future__ import annotations

from typing import Any

from validator.service.hubpage.views import check_view, registry_cause, rows
from validator.service.ondemand_store import RequestInfo, Target
from validator.service.store import Status


def _finding(check_id: str, status: str, fix: str | None = None) -> dict[str, Any]:
    return {
        "id": check_id,
        "title": check_id.title(),
        "status": status,
        "message": f"{check_id} said so",
        "fix": fix,
        "evidence": None,
    }


def _cause(check_id: str, profile: str) -> str:
    return f"cause of {check_id} under {profile}"


def test_rows_put_failures_first_and_keep_the_run_order_within_a_status() -> None:
    findings = [
        _finding("a", "pass"),
        _finding("b", "fail", "RUN fix-b"),
        _finding("c", "warn", "RUN fix-c"),
        _finding("d", "fail", "RUN fix-d"),
        _finding("e", "skip"),
        _finding("f", "error"),
    ]
    shown = rows(findings, "z2jh", _cause)
    assert [r.id for r in shown] == ["b", "d", "f", "c", "a", "e"]
    assert [r.open for r in shown] == [True, True, True, False, False, False]
    assert shown[0].fix == "RUN fix-b" and shown[0].cause == "cause of b under z2jh"
    passed = shown[4]
    assert passed.cause is None and passed.fix is None


def _info(
    status: Status, report: dict[str, Any] | None = None, error: str | None = None
) -> RequestInfo:
    return RequestInfo(
        id="od-" + "1" * 32,
        owner="ada",
        configuration_id=None,
        target=Target("reg.example.org/nb:v1", "z2jh"),
        status=status,
        digest=None,
        verdict=(report or {}).get("verdict"),
        error=error,
        created_at="2026-12-02T18:00:00Z",
        started_at=None,
        finished_at=None,
        report=report,
    )


def test_a_running_check_is_progress_and_a_done_one_a_verdict() -> None:
    running = check_view(_info(Status.RUNNING), _cause)
    assert not running.finished and running.verdict is None and running.rows == ()
    report = {
        "verdict": "incompatible",
        "counts": {"fail": 1, "pass": 2},
        "findings": [_finding("x", "fail", "RUN y")],
    }
    done = check_view(_info(Status.DONE, report), _cause)
    assert done.finished and done.verdict == "incompatible"
    assert done.counts == {"fail": 1, "pass": 2}
    assert done.rows[0].fix == "RUN y"
    failed = check_view(_info(Status.FAILED, error="the registry refused the login"), _cause)
    assert failed.finished and failed.verdict is None and failed.error


def test_registry_cause_comes_from_the_check_registry() -> None:
    cause = registry_cause("singleuser-imports", "dockerspawner")
    assert cause and "jupyter_server" in cause
    assert registry_cause("no-such-check", "dockerspawner") is None
