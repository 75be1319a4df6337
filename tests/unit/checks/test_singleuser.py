"""How one `jupyterhub-singleuser --version` run becomes three findings."""

from __future__ import annotations

from validator.checks.singleuser import interpret, judge_version, parse_version
from validator.findings import Status
from validator.profiles import load_profile
from validator.runtime.sandbox import RunResult

PROFILE = load_profile("jupyter4nfdi")  # hub 5.4.6


def statuses(run: RunResult) -> list[Status]:
    return [f.status for f in interpret(run, PROFILE, timeout=30)]


def test_binary_missing_from_engine_error() -> None:
    run = RunResult(
        None,
        "",
        0.2,
        start_error='exec: "jupyterhub-singleuser": executable file not found in $PATH',
    )
    findings = interpret(run, PROFILE, timeout=30)
    assert [f.status for f in findings] == [Status.FAIL, Status.SKIP, Status.SKIP]
    assert "exit 127" in findings[0].message
    assert findings[0].fix and "jupyterhub==5.4.6" in findings[0].fix


def test_binary_missing_behind_an_entrypoint_script() -> None:
    run = RunResult(127, "/entrypoint.sh: line 3: exec: jupyterhub-singleuser: not found\n", 0.3)
    assert statuses(run) == [Status.FAIL, Status.SKIP, Status.SKIP]


def test_import_error() -> None:
    out = "Traceback (most recent call last):\nImportError: Failed to import default single-user server\n"
    assert statuses(RunResult(1, out, 0.8)) == [Status.PASS, Status.FAIL, Status.SKIP]


def test_a_server_banner_means_the_entrypoint_ignored_its_arguments() -> None:
    out = "[I 2026-11-26 ServerApp] Jupyter Server 2.21.1 is running at:\n"
    findings = interpret(RunResult(None, out, 2.0), PROFILE, timeout=30)
    assert findings[0].status is Status.FAIL
    assert 'exec "$@"' in (findings[0].fix or "")


def test_a_silent_timeout_is_left_to_the_runtime_stage() -> None:
    # A slow entrypoint looks the same as one that ignores its arguments quietly; the
    # hub-like spawn tells them apart, so this is only a warning.
    findings = interpret(RunResult(None, "sleeping 45s\n", 30.0), PROFILE, timeout=30)
    assert [f.status for f in findings] == [Status.WARN, Status.SKIP, Status.SKIP]


def test_version_after_entrypoint_chatter() -> None:
    assert parse_version("Entered start.sh\nINFO something 1.2\n5.4.6\n") == (5, 4, 6)
    assert parse_version("no version here") is None
    assert statuses(RunResult(0, "setting up\n5.4.6\n", 0.9)) == [Status.PASS] * 3


def test_version_rules() -> None:
    assert judge_version((1, 5, 0), PROFILE, None).status is Status.FAIL
    assert judge_version((4, 1, 2), PROFILE, None).status is Status.WARN
    assert judge_version((4, 1, 6), PROFILE, None).status is Status.WARN  # other major
    assert judge_version((5, 0, 0), PROFILE, None).status is Status.PASS
    assert judge_version(None, PROFILE, "bash-5.2$").status is Status.FAIL
