"""How one `jupyterhub-singleuser --version` run becomes three findings."""

from __future__ import annotations

from validator.checks.singleuser import (
    confirmed,
    evidence_only,
    interpret,
    judge_version,
    parse_version,
    printed_version,
    read_run,
    version_command,
)
from validator.findings import Finding, Status
from validator.image import ImageInfo
from validator.profiles import CommandMode, load_profile
from validator.runtime.sandbox import RunResult

PROFILE = load_profile("jupyter4nfdi")  # hub 5.4.6
IMAGE = CommandMode.IMAGE


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


def img(cmd: tuple[str, ...] | None, entrypoint: tuple[str, ...] | None = None) -> ImageInfo:
    return ImageInfo(
        id="sha256:" + "0" * 64, os="linux", architecture="amd64", cmd=cmd, entrypoint=entrypoint
    )


def test_image_mode_runs_the_cmds_own_path() -> None:
    command = version_command(img(("/opt/venv/bin/jupyterhub-singleuser", "--debug")), IMAGE)
    assert command.args == ("/opt/venv/bin/jupyterhub-singleuser", "--version")
    assert command.decisive


def test_image_mode_with_singleuser_as_entrypoint_and_no_cmd_adds_only_the_flag() -> None:
    command = version_command(img(None, ("tini", "--", "jupyterhub-singleuser")), IMAGE)
    assert command.args == ("--version",)
    assert command.decisive


def test_image_mode_with_another_cmd_is_evidence_only() -> None:
    command = version_command(img(("start-notebook.sh",)), IMAGE)
    assert command.args == ("jupyterhub-singleuser", "--version")
    assert not command.decisive and "start-notebook.sh" in command.why_not


def test_the_other_modes_run_what_the_spawner_passes() -> None:
    image = img(("/opt/venv/bin/jupyterhub-singleuser",))
    assert version_command(image, CommandMode.SINGLEUSER).args == (
        "jupyterhub-singleuser",
        "--version",
    )
    assert version_command(image, CommandMode.JOB).args == (
        "/bin/bash",
        "-lc",
        "jupyterhub-singleuser --version",
    )


def run_as(
    run: RunResult, image: ImageInfo, mode: CommandMode = CommandMode.IMAGE
) -> list[Finding]:
    return interpret(run, PROFILE, timeout=30, command=version_command(image, mode))


NEEDS_VAR = img(("jupyterhub-singleuser",), ("/usr/local/bin/entrypoint.sh",))


def test_a_version_printed_before_a_non_zero_exit_is_an_answer() -> None:
    # An entrypoint that backgrounds its command and exits 1 later: the command ran.
    out = "5.4.6\nentrypoint: post-start task failed\n"
    findings = run_as(RunResult(1, out, 6.1), NEEDS_VAR)
    assert [f.status for f in findings] == [Status.PASS] * 3
    assert "exited 1" in findings[0].message
    assert printed_version(out)
    assert not printed_version("5.4.6\nTraceback (most recent call last):\nImportError: x\n")


def test_an_entrypoint_that_refuses_to_start_is_quoted() -> None:
    out = "entrypoint: LAB_LICENSE_KEY is not set; refusing to start\n"
    findings = run_as(RunResult(3, out, 0.4), NEEDS_VAR)
    assert [f.status for f in findings] == [Status.FAIL, Status.SKIP, Status.SKIP]
    assert "ENTRYPOINT" in findings[0].message and "exited 3" in findings[0].message
    # It may have started the command in the background: the spawn must bear it out.
    assert read_run(
        RunResult(3, out, 0.4), PROFILE, timeout=30, command=version_command(NEEDS_VAR, IMAGE)
    )[1]
    assert "LAB_LICENSE_KEY is not set; refusing to start" in findings[0].message
    assert "import" not in findings[0].message


def test_an_entrypoints_own_missing_tool_is_the_entrypoints_failure() -> None:
    out = "/usr/local/bin/entrypoint.sh: 3: gosu: not found\n"
    findings = run_as(RunResult(127, out, 0.4), NEEDS_VAR)
    assert findings[0].status is Status.FAIL
    assert "ENTRYPOINT" in findings[0].message and "gosu" in findings[0].message


def test_singleuser_as_entrypoint_is_not_an_import_failure() -> None:
    image = img(None, ("jupyterhub-singleuser",))
    out = "Traceback (most recent call last):\nTypeError: argument of type 'Dict' is not iterable\n"
    findings = run_as(RunResult(1, out, 1.5), image, CommandMode.SINGLEUSER)
    assert [f.status for f in findings] == [Status.FAIL, Status.SKIP, Status.SKIP]
    assert "becomes its arguments" in findings[0].message
    # Under the image policy the spawner runs that ENTRYPOINT as it is: only --version.
    ok = run_as(RunResult(0, "5.4.6\n", 1.2), image)
    assert [f.status for f in ok] == [Status.PASS] * 3


def test_a_login_shell_that_misses_the_venv_names_etc_profile() -> None:
    out = "/bin/bash: line 1: jupyterhub-singleuser: command not found\n"
    findings = run_as(RunResult(127, out, 0.3), img(("jupyterhub-singleuser",)), CommandMode.JOB)
    assert findings[0].status is Status.FAIL
    assert "login shell" in findings[0].message
    assert findings[0].fix and "/etc/profile.d" in findings[0].fix


def test_an_absolute_cmd_path_that_does_not_exist_names_it() -> None:
    image = img(("/opt/conda/bin/jupyterhub-singleuser",))
    run = RunResult(
        None,
        "",
        0.1,
        start_error='exec: "/opt/conda/bin/jupyterhub-singleuser": stat '
        "/opt/conda/bin/jupyterhub-singleuser: no such file or directory",
    )
    findings = run_as(run, image)
    assert findings[0].status is Status.FAIL
    assert "/opt/conda/bin/jupyterhub-singleuser" in findings[0].message


def test_a_missing_entrypoint_binary_is_named() -> None:
    image = img(("jupyterhub-singleuser",), ("tini", "--"))
    run = RunResult(None, "", 0.1, start_error='exec: "tini": executable file not found in $PATH')
    findings = run_as(run, image, CommandMode.SINGLEUSER)
    assert findings[0].status is Status.FAIL
    assert findings[0].message.startswith("the ENTRYPOINT tini cannot be executed")


def test_evidence_only_failures_warn_and_can_be_confirmed() -> None:
    command = version_command(img(("bash",)), IMAGE)
    missing = interpret(RunResult(127, "", 0.2), PROFILE, timeout=30, command=command)[0]
    warned = evidence_only(missing, command.why_not)
    assert warned.status is Status.WARN and "evidence only" in warned.message
    back = confirmed(warned, "the container exited with code 2")
    assert back is not None and back.status is Status.FAIL
    assert "evidence only" not in back.message and "exited with code 2" in back.message
    assert confirmed(missing, "x") is None  # not an evidence-only warning
