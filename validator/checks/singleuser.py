"""``jupyterhub-singleuser --version`` through the image's ENTRYPOINT.

One short container answers three questions: is the command there, does it import,
and which version is it. ``probe_singleuser`` runs it; ``interpret`` only reads the
container's result.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from validator.checks.base import Check, Observed, Stage, tail
from validator.findings import Finding
from validator.image import ImageInfo
from validator.profiles import Profile
from validator.runtime.sandbox import RunResult, Sandbox

_VERSION_LINE = re.compile(r"^\s*v?(\d+)\.(\d+)\.(\d+)(\S*)\s*$")
_NOT_FOUND = re.compile(r"executable file not found|not found|No such file or directory", re.I)
_IMPORT = re.compile(r"ImportError|ModuleNotFoundError|Failed to import|Traceback", re.I)


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


def _fix(check: Check, profile: Profile) -> str:
    return check.format(profile).fix


@dataclass(frozen=True)
class ExecContext:
    """What the exec stage's probe needs: where to run, what, and as whom."""

    sandbox: Sandbox
    image: ImageInfo
    profile: Profile
    user: str | None  # the --user a hub with this profile gives the container
    on_started: Callable[[], None] | None = None


def probe_singleuser(ctx: ExecContext) -> Observed:
    """One ``jupyterhub-singleuser --version`` container answers all three exec checks."""
    timeout = float(ctx.profile.http_timeout)
    run = ctx.sandbox.run_to_end(
        ctx.image.id,
        ["jupyterhub-singleuser", "--version"],
        user=ctx.user,
        timeout=timeout,
        allow_privilege_escalation=ctx.profile.allow_privilege_escalation,
        give_up_when=started_a_server,
        on_started=ctx.on_started,
    )
    findings = interpret(run, ctx.profile, timeout=timeout)
    # One container answered all three; its time is shared out evenly.
    share = run.seconds / len(findings)
    return Observed(tuple(f.with_duration(share) for f in findings))


def interpret(run: RunResult, profile: Profile, *, timeout: float) -> list[Finding]:
    """The three findings from one ``jupyterhub-singleuser --version`` run."""
    output = run.output
    evidence = tail(output) or None
    if run.start_error is not None:
        message = run.start_error
        if _NOT_FOUND.search(message):
            return [
                INSTALLED.failed(
                    "jupyterhub-singleuser was not found on the image's PATH (exit 127)",
                    fix=_fix(INSTALLED, profile),
                    evidence=message,
                ),
                IMPORTS.skipped("jupyterhub-singleuser is not installed"),
                VERSION.skipped("jupyterhub-singleuser is not installed"),
            ]
        return [
            INSTALLED.failed(f"the container could not start: {message}", evidence=message),
            IMPORTS.skipped("the container could not start"),
            VERSION.skipped("the container could not start"),
        ]
    if run.timed_out and started_a_server(output):
        return [
            INSTALLED.failed(
                "'jupyterhub-singleuser --version' never ran: the ENTRYPOINT ignored its "
                "arguments and started a server instead",
                fix='End the entrypoint script with: exec "$@"',
                evidence=evidence,
            ),
            IMPORTS.skipped("the command did not run"),
            VERSION.skipped("the command did not run"),
        ]
    if run.timed_out:
        # Slow, or ignoring its arguments without saying so: the runtime stage, which
        # starts the server as the hub does, tells which.
        return [
            INSTALLED.warned(
                f"'jupyterhub-singleuser --version' did not finish within {timeout:.0f} s: "
                "the ENTRYPOINT is slow, or ignores its arguments",
                fix='Keep the entrypoint fast and end it with: exec "$@"',
                evidence=evidence,
            ),
            IMPORTS.skipped("the command did not finish"),
            VERSION.skipped("the command did not finish"),
        ]
    code = run.exit_code
    if code in (126, 127) or (
        code != 0 and _NOT_FOUND.search(output) and not _IMPORT.search(output)
    ):
        return [
            INSTALLED.failed(
                f"jupyterhub-singleuser was not found or not executable (exit {code})",
                fix=_fix(INSTALLED, profile),
                evidence=evidence,
            ),
            IMPORTS.skipped("jupyterhub-singleuser is not installed"),
            VERSION.skipped("jupyterhub-singleuser is not installed"),
        ]
    installed = INSTALLED.passed("jupyterhub-singleuser runs through the ENTRYPOINT")
    if code != 0:
        return [
            installed,
            IMPORTS.failed(
                f"jupyterhub-singleuser --version exited {code}"
                + (" with an import error" if _IMPORT.search(output) else ""),
                evidence=evidence,
            ),
            VERSION.skipped("jupyterhub-singleuser does not start"),
        ]
    imports = IMPORTS.passed("jupyterhub-singleuser imports")
    return [installed, imports, judge_version(parse_version(output), profile, evidence)]


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
    title="jupyterhub-singleuser is on PATH",
    stage=Stage.EXEC,
    detection=(
        "Runs `jupyterhub-singleuser --version` through the image's ENTRYPOINT as the "
        "profile's uid, without network; the engine's 'executable file not found', exit "
        "126/127, or a server banner instead of a version fail it. No exit within "
        "http_timeout only warns: the runtime stage tells a slow entrypoint from a broken one."
    ),
    cause=(
        "The hub starts jupyterhub-singleuser; if the image lacks JupyterHub, or its "
        "environment's bin directory is not on PATH, the spawn fails at once."
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
    detection="The same run exits non-zero (typically ImportError: no jupyter_server).",
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
