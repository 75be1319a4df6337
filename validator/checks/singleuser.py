"""``--version`` through the image's ENTRYPOINT, as each command policy would run it.

One short container per command mode answers three questions: does the command the
spawner runs exist, does it import, and which version is it. ``version_command`` says
what that container runs, ``probe_singleuser`` runs it, and ``interpret`` only reads
what it printed: the version line, a traceback, or the ENTRYPOINT's own message. The
exit code alone misleads: an entrypoint may print the version and exit 1 later.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath

from validator.checks.base import Check, Observed, Stage, tail
from validator.findings import Finding, Status
from validator.image import ImageInfo
from validator.profiles import CommandMode, Profile
from validator.runtime.sandbox import RunResult, Sandbox

SINGLEUSER = "jupyterhub-singleuser"

_VERSION_LINE = re.compile(r"^\s*v?(\d+)\.(\d+)\.(\d+)(\S*)\s*$")
_NOT_FOUND = re.compile(
    r"executable file not found|command not found|not found|No such file or directory", re.I
)
_IMPORT = re.compile(r"ImportError|ModuleNotFoundError|Failed to import|Traceback", re.I)
# The engine names the program it could not execute: exec: "/bin/bash": stat ...
_ENGINE_PROGRAM = re.compile(r'exec: "([^"]+)"')


# Printed by jupyter_server / notebook once they listen: the arguments were ignored.
_SERVER_BANNER = re.compile(r"is running at|Serving notebooks from|Jupyter Server .* is running")


def started_a_server(output: str) -> bool:
    """`--version` should print and exit; a server banner means the ENTRYPOINT ignored it."""
    return bool(_SERVER_BANNER.search(output))


def parse_version(output: str) -> tuple[int, int, int] | None:
    """The last line that is a bare X.Y.Z version (entrypoints may print before it)."""
    for line in reversed(output.splitlines()):
        match = _VERSION_LINE.match(line)
        if match:
            return int(match.group(1)), int(match.group(2)), int(match.group(3))
    return None


def printed_version(output: str) -> bool:
    """A version line with no traceback after it: the command ran and answered."""
    lines = output.splitlines()
    for index in range(len(lines) - 1, -1, -1):
        if _VERSION_LINE.match(lines[index]):
            return not _IMPORT.search("\n".join(lines[index + 1 :]))
    return False


def _done(output: str) -> bool:
    # An entrypoint may keep the container up after its command printed the version
    # (it backgrounds it, or sleeps): the answer is in, there is no need to wait on.
    return started_a_server(output) or printed_version(output)


def _fix(check: Check, profile: Profile) -> str:
    return check.format(profile).fix


def is_singleuser(program: str) -> bool:
    return PurePosixPath(program).name == SINGLEUSER


@dataclass(frozen=True)
class VersionCommand:
    """The ``--version`` run that stands for one command mode's start.

    ``args`` replace the image CMD (the ENTRYPOINT stays, as with every spawner).
    ``decisive``: the run is the command the spawner starts, so its failure proves the
    server cannot start under this mode; otherwise (the image CMD runs a start script or
    ``jupyter lab``) the bare-name run is evidence only, and ``why_not`` says so.
    """

    mode: CommandMode
    args: tuple[str, ...]
    program: str  # what the spawner runs, as a message names it
    entrypoint: tuple[str, ...] = ()
    decisive: bool = True
    why_not: str = ""


def version_command(image: ImageInfo, mode: CommandMode) -> VersionCommand:
    """What the spawner would effectively run under ``mode``, asked for its version."""
    cmd, entrypoint = tuple(image.cmd or ()), tuple(image.entrypoint or ())
    if mode is CommandMode.SINGLEUSER:
        return VersionCommand(mode, (SINGLEUSER, "--version"), SINGLEUSER, entrypoint)
    if mode is CommandMode.JOB:
        return VersionCommand(
            mode,
            ("/bin/bash", "-lc", f"{SINGLEUSER} --version"),
            f"bash -lc {SINGLEUSER}",
            entrypoint,
        )
    if cmd and is_singleuser(cmd[0]):
        return VersionCommand(mode, (cmd[0], "--version"), cmd[0], entrypoint)
    if not cmd and entrypoint and is_singleuser(entrypoint[-1]):
        # ENTRYPOINT ["jupyterhub-singleuser"] with no CMD: the spawner runs the
        # ENTRYPOINT as it is, so the only argument to add is --version.
        return VersionCommand(mode, ("--version",), entrypoint[-1], entrypoint)
    shown = f"CMD {list(cmd)}" if cmd else f"ENTRYPOINT {list(entrypoint)} (no CMD)"
    return VersionCommand(
        mode,
        (SINGLEUSER, "--version"),
        SINGLEUSER,
        entrypoint,
        decisive=False,
        why_not=f"the image's {shown} does not run {SINGLEUSER} directly",
    )


@dataclass(frozen=True)
class ExecContext:
    """What one mode's exec probe needs: where to run, what, as whom, for how long."""

    sandbox: Sandbox
    image: ImageInfo
    profile: Profile
    user: str | None  # the --user a hub with this profile gives the container
    mode: CommandMode = CommandMode.IMAGE
    timeout: float = 30.0
    on_started: Callable[[], None] | None = None
    # Whether a spawn follows that can decide what this run cannot (not with
    # --static-only: then this run's failures are the best evidence there is).
    spawn_follows: bool = True


def probe_singleuser(ctx: ExecContext) -> Observed:
    """One ``--version`` container answers all three exec checks for one mode."""
    command = version_command(ctx.image, ctx.mode)
    run = ctx.sandbox.run_to_end(
        ctx.image.id,
        list(command.args),
        user=ctx.user,
        timeout=ctx.timeout,
        allow_privilege_escalation=ctx.profile.allow_privilege_escalation,
        give_up_when=_done,
        on_started=ctx.on_started,
    )
    findings, provisional = read_run(run, ctx.profile, timeout=ctx.timeout, command=command)
    if ctx.spawn_follows and not command.decisive:
        findings = [evidence_only(f, command.why_not) for f in findings]
    elif ctx.spawn_follows and provisional:
        # An ENTRYPOINT that exits before the command answered may have started it in
        # the background (the server then dies with it): only the spawn can tell.
        why = "the ENTRYPOINT may have started the command before it exited"
        findings = [evidence_only(f, why) for f in findings]
    # One container answered all three; its time is shared out evenly.
    share = run.seconds / len(findings)
    return Observed(tuple(f.with_duration(share) for f in findings))


_EVIDENCE_NOTE = re.compile(r" \(evidence only: (?P<why>.*); the runtime stage decides\)$")


def evidence_only(finding: Finding, why_not: str) -> Finding:
    """A failure that does not prove the server cannot start: a warning, not a gate."""
    if finding.status is not Status.FAIL:
        return finding
    note = f" (evidence only: {why_not}; the runtime stage decides)"
    return dataclasses.replace(finding, status=Status.WARN, message=finding.message + note)


def confirmed(finding: Finding, server_failure: str) -> Finding | None:
    """An evidence-only failure the runtime stage bore out, as the failure it names.

    None when ``finding`` was not such a failure. The run did not gate the spawn; once
    the spawn has not started a server either, what the run saw is the cause, and the
    runtime failures would only repeat it.
    """
    note = _EVIDENCE_NOTE.search(finding.message) if finding.status is Status.WARN else None
    if note is None:
        return None
    message = finding.message[: note.start()]
    return dataclasses.replace(
        finding,
        status=Status.FAIL,
        message=f"{message}; started as the hub starts it, it did not serve either: "
        f"{server_failure}",
    )


_DEFAULT = VersionCommand(CommandMode.SINGLEUSER, (SINGLEUSER, "--version"), SINGLEUSER)

_ENTRYPOINT_FIX = (
    "The hub gives the container only its own environment (JUPYTERHUB_*): make the "
    "entrypoint work without anything else, e.g. give what it requires a default\n"
    "  ENV NAME=value\n"
    'or skip that step when it is missing, and end the script with: exec "$@"'
)
_LOGIN_SHELL_FIX = (
    "A login shell (bash -l) sets PATH from /etc/profile, which ENV PATH does not change. "
    "Put the environment on a login shell's PATH:\n"
    "  RUN echo 'export PATH=/opt/venv/bin:$PATH' > /etc/profile.d/venv.sh\n"
    "or link the command into a directory /etc/profile keeps:\n"
    "  RUN ln -s /opt/venv/bin/jupyterhub-singleuser /usr/local/bin/"
)
_SELF_ENTRYPOINT_FIX = (
    "Move jupyterhub-singleuser from the ENTRYPOINT to the CMD, so a command the hub "
    'passes replaces it:\n  CMD ["jupyterhub-singleuser"]'
)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _not_run(why: str) -> list[Finding]:
    return [IMPORTS.skipped(why), VERSION.skipped(why)]


def interpret(
    run: RunResult, profile: Profile, *, timeout: float, command: VersionCommand = _DEFAULT
) -> list[Finding]:
    """The three findings from one ``--version`` run, read from what it printed."""
    return read_run(run, profile, timeout=timeout, command=command)[0]


def read_run(
    run: RunResult, profile: Profile, *, timeout: float, command: VersionCommand = _DEFAULT
) -> tuple[list[Finding], bool]:
    """``interpret``, and whether its failure is provisional (the spawn must bear it out)."""
    findings = _read(run, profile, timeout=timeout, command=command)
    provisional = findings[0].message.startswith(_ENTRYPOINT_EXITED)
    return findings, provisional


_ENTRYPOINT_EXITED = "the ENTRYPOINT exited"


def _read(
    run: RunResult, profile: Profile, *, timeout: float, command: VersionCommand
) -> list[Finding]:
    output = run.output
    evidence = tail(output) or None
    asked = " ".join(command.args)
    if run.start_error is not None:
        return _refused(run.start_error, profile, command)
    if printed_version(output):
        return _answered(run, profile, command, evidence)
    if run.timed_out and started_a_server(output):
        return [
            INSTALLED.failed(
                f"'{asked}' never ran: the ENTRYPOINT ignored its arguments and started "
                "a server instead",
                fix='End the entrypoint script with: exec "$@"',
                evidence=evidence,
            ),
            *_not_run("the command did not run"),
        ]
    if run.timed_out:
        # Slow, or ignoring its arguments without saying so: the runtime stage, which
        # starts the server as the hub does, tells which.
        return [
            INSTALLED.warned(
                f"'{asked}' did not finish within {timeout:.0f} s: the ENTRYPOINT is slow, "
                "or ignores its arguments",
                fix='Keep the entrypoint fast and end it with: exec "$@"',
                evidence=evidence,
            ),
            *_not_run("the command did not finish"),
        ]
    code = run.exit_code
    if run.oom_killed:
        return [
            INSTALLED.failed(
                f"'{asked}' exited {code}: it ran out of memory, the kernel killed it at "
                "the container's memory limit",
                fix="Find what allocates without bound at start (the entrypoint); a hub "
                "limits memory too (mem_limit, the pod's resources.limits.memory).",
                evidence=evidence,
            ),
            *_not_run("the command ran out of memory"),
        ]
    traceback = bool(_IMPORT.search(output))
    missing = _missing_program(output, command) if not traceback else None
    # Exit 127 with a shell's "not found" for another program is the entrypoint's own
    # failure (a tool it calls), not the command's.
    other_missing = bool(command.entrypoint) and any(
        _NOT_FOUND.search(line) for line in output.splitlines()
    )
    if missing is not None or (code in (126, 127) and not traceback and not other_missing):
        return [
            _not_found(missing or command.program, code, profile, command, evidence),
            *_not_run(f"{missing or command.program} is not there"),
        ]
    ep = command.entrypoint
    if ep and is_singleuser(ep[-1]) and command.args[0] != "--version":
        # jupyterhub-singleuser as ENTRYPOINT takes the command the policy passes as
        # its own arguments ('jupyterhub-singleuser jupyterhub-singleuser') and exits.
        return [
            INSTALLED.failed(
                f"the ENTRYPOINT {list(ep)} is jupyterhub-singleuser itself: the command "
                f"this policy passes becomes its arguments ('{' '.join((*ep, *command.args))}'),"
                f" and it exits {code}",
                fix=_SELF_ENTRYPOINT_FIX,
                evidence=evidence,
            ),
            *_not_run("the command cannot run behind this ENTRYPOINT"),
        ]
    if traceback:
        return [
            INSTALLED.passed(f"{command.program} runs through the ENTRYPOINT"),
            IMPORTS.failed(
                f"'{asked}' exited {code} with an import error: {_error_line(output)}",
                evidence=evidence,
            ),
            VERSION.skipped("jupyterhub-singleuser does not start"),
        ]
    if code != 0 and ep:
        # No version, no traceback: nothing of Python ran, the entrypoint gave up first.
        said = _last_line(output)
        return [
            INSTALLED.failed(
                f"{_ENTRYPOINT_EXITED} {code} before '{asked}' answered (ENTRYPOINT {list(ep)})"
                + (f": {said!r}" if said else " without a message"),
                fix=_ENTRYPOINT_FIX,
                evidence=evidence,
            ),
            *_not_run("the ENTRYPOINT does not run the command"),
        ]
    installed = INSTALLED.passed(f"{command.program} runs through the ENTRYPOINT")
    if code != 0:
        return [
            installed,
            IMPORTS.failed(f"'{asked}' exited {code}", evidence=evidence),
            VERSION.skipped("jupyterhub-singleuser does not start"),
        ]
    imports = IMPORTS.passed(f"{command.program} imports")
    return [installed, imports, judge_version(parse_version(output), profile, evidence)]


def _answered(
    run: RunResult, profile: Profile, command: VersionCommand, evidence: str | None
) -> list[Finding]:
    message = f"{command.program} runs through the ENTRYPOINT"
    if run.exit_code not in (0, None):
        # The version was printed; what exits non-zero is the ENTRYPOINT around it. What
        # that does to a server is for the runtime stage to observe, not to guess here.
        message += (
            f"; the container then exited {run.exit_code} (the ENTRYPOINT's doing: the "
            "runtime stage shows what it does to the server)"
        )
    return [
        INSTALLED.passed(message, evidence=evidence if run.exit_code not in (0, None) else None),
        IMPORTS.passed(f"{command.program} imports"),
        judge_version(parse_version(run.output), profile, evidence),
    ]


def _error_line(output: str) -> str:
    """The exception a traceback ends with, e.g. 'ImportError: ...'."""
    for line in reversed(output.splitlines()):
        if re.match(r"^\s*\w+(\.\w+)*(Error|Exception)\b", line):
            return line.strip()
    return _last_line(output)


def _missing_program(output: str, command: VersionCommand) -> str | None:
    """The program a shell or the entrypoint said it could not find, if it is ours."""
    candidates = [SINGLEUSER, command.program, command.args[0]]
    for line in reversed(output.splitlines()):
        if not _NOT_FOUND.search(line):
            continue
        for name in candidates:
            if name in line:
                return name
        if not command.entrypoint:
            return command.program
    return None


def _refused(message: str, profile: Profile, command: VersionCommand) -> list[Finding]:
    """The engine could not execute the container's first program."""
    named = _ENGINE_PROGRAM.search(message)
    program = named.group(1) if named else None
    ep = command.entrypoint
    if ep and program == ep[0]:
        return [
            INSTALLED.failed(
                f"the ENTRYPOINT {ep[0]} cannot be executed: {message}",
                fix="Point the ENTRYPOINT at an executable that exists in the image.",
                evidence=message,
            ),
            *_not_run("the ENTRYPOINT cannot run"),
        ]
    if _NOT_FOUND.search(message):
        missing = program or command.args[0]
        return [
            _not_found(missing, 127, profile, command, message),
            *_not_run(f"{missing} is not there"),
        ]
    return [
        INSTALLED.failed(f"the container could not start: {message}", evidence=message),
        *_not_run("the container could not start"),
    ]


def _not_found(
    missing: str, code: int | None, profile: Profile, command: VersionCommand, evidence: str | None
) -> Finding:
    exit_code = f"exit {code}" if code is not None else "exit 127"
    if command.mode is CommandMode.JOB and missing == SINGLEUSER:
        return INSTALLED.failed(
            f"jupyterhub-singleuser was not found on a login shell's PATH (bash -lc, "
            f"{exit_code}): a login shell takes PATH from /etc/profile, not from ENV PATH",
            fix=_LOGIN_SHELL_FIX,
            evidence=evidence,
        )
    if missing != SINGLEUSER and not is_singleuser(missing):
        return INSTALLED.failed(
            f"{missing}, which this policy runs, is not in the image ({exit_code})",
            fix=f"Install {PurePosixPath(missing).name} in the image.",
            evidence=evidence,
        )
    where = "on the image's PATH" if missing == SINGLEUSER else "(the image's command names it)"
    return INSTALLED.failed(
        f"{missing} was not found or not executable {where} ({exit_code})",
        fix=_fix(INSTALLED, profile),
        evidence=evidence,
    )


def judge_version(
    version: tuple[int, int, int] | None, profile: Profile, evidence: str | None
) -> Finding:
    fix = _fix(VERSION, profile)
    if version is None:
        return VERSION.failed(
            "no version in the output of 'jupyterhub-singleuser --version': the ENTRYPOINT "
            "may run something else instead of its arguments",
            fix='End the entrypoint script with: exec "$@"',
            evidence=evidence,
        )
    major, minor, patch = version
    shown = f"{major}.{minor}.{patch}"
    hub = profile.hub_version
    if major < 2 <= profile.hub_major:
        return VERSION.failed(
            f"jupyterhub-singleuser {shown} predates 2.0; hub {hub} needs the 2.x+ OAuth scopes",
            fix=fix,
        )
    if (major, minor) == (4, 1) and patch <= 3:
        return VERSION.warned(
            f"jupyterhub-singleuser {shown} has known XSRF bugs (fixed in 4.1.4)", fix=fix
        )
    if major != profile.hub_major:
        return VERSION.warned(
            f"jupyterhub-singleuser {shown} differs from hub {hub} in its major version "
            "(the hub logs a mismatch; redirect loops are possible)",
            fix=fix,
        )
    return VERSION.passed(f"jupyterhub-singleuser {shown} (hub {hub})")


INSTALLED = Check(
    id="singleuser-installed",
    title="The command the spawner runs is there",
    stage=Stage.EXEC,
    detection=(
        "For each command mode, runs the command the spawner would start, with `--version`, "
        "through the image's ENTRYPOINT as the profile's uid, without network: image mode "
        "runs the image CMD's jupyterhub-singleuser by its own path (or the ENTRYPOINT "
        "alone when it is jupyterhub-singleuser and there is no CMD), singleuser mode the "
        "bare name, job mode `bash -lc`. The engine's 'executable file not found', exit "
        "126/127, a shell's 'not found', an ENTRYPOINT that exits before running the "
        "command (its message is quoted) or a server banner instead of a version fail it. "
        "When the image CMD is something else (a start script), the bare name is tried as "
        "evidence only: its failures warn and the runtime stage decides. No exit within "
        "min(http_timeout, --max-wait) only warns."
    ),
    cause=(
        "The hub starts the command its policy names; if the image lacks JupyterHub, its "
        "environment's bin directory is not on that command's PATH (a login shell resets "
        "PATH from /etc/profile), or the ENTRYPOINT refuses to run it, the spawn fails at once."
    ),
    fix=(
        "Install JupyterHub with the hub's version and put its bin directory on PATH:\n"
        "  RUN pip install --no-cache-dir 'jupyterhub=={hub_version}' jupyterlab\n"
        "  ENV PATH=/opt/venv/bin:$PATH   # where pip installed it"
    ),
    evidence=("jupyterhub#1361", "jupyterhub#1083", "dockerspawner#348", "jupyterhub#598"),
    needs=("platform",),
    blocks="jupyterhub-singleuser cannot start",
    probe=probe_singleuser,
)


IMPORTS = Check(
    id="singleuser-imports",
    title="jupyterhub-singleuser imports its server",
    stage=Stage.EXEC,
    detection="The same run prints a traceback (typically ImportError: no jupyter_server) instead of a version; a version line counts as imported whatever the exit code (an ENTRYPOINT may exit non-zero after its command answered).",
    cause=(
        "The jupyterhub package does not depend on a notebook server; without "
        "jupyter_server (or with a broken environment) the command fails on import."
    ),
    fix="Install a server and UI beside JupyterHub:\n  RUN pip install --no-cache-dir jupyterlab",
    evidence=("jupyterhub#879", "jupyterhub#475", "jupyterhub#4518", "wolfi-dev/os#40545"),
    needs=("platform",),
    blocks="jupyterhub-singleuser cannot start",
)


VERSION = Check(
    id="singleuser-version",
    title="jupyterhub-singleuser's version suits the hub",
    stage=Stage.EXEC,
    detection="Parses the version the same run prints and compares it with the profile's hub version: < 2 fails; 4.1.0-4.1.3 and a different major version warn.",
    cause=(
        "Hub and single-user server should share the major version: before 2.0 the "
        "OAuth/scopes protocol differs, a major mismatch can cause redirect loops, and "
        "4.1.0-4.1.3 have XSRF bugs."
    ),
    fix="Pin JupyterHub to the hub's version:\n  RUN pip install --no-cache-dir 'jupyterhub=={hub_version}'",
    evidence=(
        "jupyterhub#709",
        "jupyterhub#3139",
        "z2jh#2549",
        "jupyterhub PR#4658",
        "jupyter-remote-desktop-proxy#106",
        "jupyterhub PR#4771",
    ),
    needs=("platform",),
)
