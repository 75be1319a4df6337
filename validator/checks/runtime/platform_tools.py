"""Are the commands the platform itself runs inside the server's container there?

Jupyter4NFDI's preStop hook stops the server with
``/bin/sh -c "... kill $(ps x | grep '[j]upyterhub-singleuser' | awk '{print $1}')"``
and its job API runs ``/bin/bash -lc <script>``, whose script polls the hub with curl.
None of that is the single-user contract, so a missing tool only warns.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import docker.errors
import requests

from validator.checks.base import Check, Stage
from validator.checks.runtime import RuntimeContext
from validator.findings import Finding


@dataclass(frozen=True)
class Tool:
    path: str | None  # how the platform calls it when not through PATH
    caller: str  # which of the platform's commands runs it
    package: str  # Debian/Ubuntu package


HOOK = "the preStop hook (/bin/sh -c 'kill $(ps x | grep ... | awk ...)')"
JOB = "the job API (/bin/bash -lc with a script that polls the hub with curl)"
OTHER = "a platform hook"
# What breaks when a caller lacks a tool.
BREAKS = {
    HOOK: "it cannot stop the server cleanly by name",
    JOB: "jobs cannot run",
    OTHER: "it fails",
}
TOOLS: Mapping[str, Tool] = {
    "sh": Tool("/bin/sh", HOOK, "dash"),
    "ps": Tool(None, HOOK, "procps"),
    "grep": Tool(None, HOOK, "grep"),
    "awk": Tool(None, HOOK, "mawk"),
    "kill": Tool(None, HOOK, "procps"),
    "bash": Tool("/bin/bash", JOB, "bash"),
    "curl": Tool(None, JOB, "curl"),
}

# For each argument: "name=where" (a path, a bare name for a shell builtin, or nothing).
_LOOKUP = (
    'for t do case "$t" in '
    '/*) if [ -x "$t" ]; then echo "$t=$t"; else echo "$t="; fi ;; '
    '*) if p=$(command -v "$t"); then echo "$t=$p"; else echo "$t="; fi ;; '
    "esac; done"
)
# What the engine answers when the executable of an exec does not exist.
_NOT_FOUND = re.compile(r"executable file not found|no such file or directory", re.IGNORECASE)


def _called_as(name: str) -> str:
    tool = TOOLS.get(name)
    return tool.path if tool is not None and tool.path else name


def parse_lookup(output: str, names: Sequence[str]) -> dict[str, str | None]:
    """Each tool -> where the shell found it ("kill" alone: its builtin), or None."""
    found: dict[str, str] = {}
    for line in output.splitlines():
        called, sep, where = line.strip().partition("=")
        if sep:
            found[called] = where
    return {name: found.get(_called_as(name)) or None for name in names}


def exec_missing(exit_code: int | None, output: str) -> bool:
    """The engine could not start the exec's executable (not: it ran and failed)."""
    return exit_code in (126, 127) and bool(_NOT_FOUND.search(output))


def judge(found: Mapping[str, str | None], *, without_shell: bool = False) -> Finding:
    """Warn for each missing tool with what breaks, else pass; never fails."""
    missing = [name for name, where in found.items() if where is None]
    builtins = [name for name, where in found.items() if where and not where.startswith("/")]
    if not missing:
        text = f"all found: {', '.join(found)}"
        if builtins:
            text += f" ({', '.join(builtins)}: the shell's builtin)"
        return PLATFORM_TOOLS.passed(text)
    by_caller: dict[str, list[str]] = {}
    for name in missing:
        caller = TOOLS[name].caller if name in TOOLS else OTHER
        by_caller.setdefault(caller, []).append(name)
    reasons = " ".join(
        f"{caller[0].upper()}{caller[1:]} needs {', '.join(names)}: {BREAKS[caller]}."
        for caller, names in by_caller.items()
    )
    packages = dict.fromkeys(TOOLS[n].package if n in TOOLS else n for n in missing)
    how = " (looked up without a shell: /bin/sh is missing)" if without_shell else ""
    return PLATFORM_TOOLS.warned(
        f"missing in the image{how}: {', '.join(missing)}. {reasons}",
        fix=(
            "Install them (Debian/Ubuntu packages):\n"
            "  RUN apt-get update && apt-get install -y --no-install-recommends "
            f"{' '.join(packages)} && rm -rf /var/lib/apt/lists/*\n"
            "(awk also comes as gawk; kill is a builtin of sh and bash, /bin/kill is procps)"
        ),
    )


def _without_shell(ctx: RuntimeContext, names: Sequence[str]) -> dict[str, str | None]:
    """Find each tool by asking the engine to run it: no shell means no builtin kill."""
    found: dict[str, str | None] = {}
    for name in names:
        called = _called_as(name)
        result = ctx.candidate.container.exec_run([called, "--version"])
        output = result.output.decode("utf-8", "replace")
        found[name] = None if exec_missing(result.exit_code, output) else called
    return found


def probe_platform_tools(ctx: RuntimeContext) -> Finding:
    names = list(ctx.profile.platform_tools)
    if not names:
        return PLATFORM_TOOLS.skipped("the profile names no commands its platform runs")
    # As the hooks run: the container's own user and environment.
    args = [_called_as(name) for name in names]
    try:
        result = ctx.candidate.container.exec_run(["/bin/sh", "-c", _LOOKUP, "sh", *args])
        output = result.output.decode("utf-8", "replace")
        if exec_missing(result.exit_code, output):
            return judge(_without_shell(ctx, names), without_shell=True)
    except (docker.errors.APIError, requests.RequestException) as exc:
        return PLATFORM_TOOLS.skipped(f"cannot exec in the container: {exc.__class__.__name__}")
    if result.exit_code != 0:
        return PLATFORM_TOOLS.skipped(
            f"the lookup in the container exited {result.exit_code}: {output.strip()[:200]}"
        )
    return judge(parse_lookup(output, names))


PLATFORM_TOOLS = Check(
    id="platform-tools",
    title="The commands the platform runs in the container exist",
    stage=Stage.RUNTIME,
    detection=(
        "Only for profiles with platform_tools (jupyter4nfdi): looks each one up in the "
        "running candidate as its own user, through /bin/sh's command -v (so kill may be the "
        "shell's builtin, as in the hook), /bin/sh and /bin/bash by their absolute paths; "
        "without /bin/sh, by asking the engine to run each. Missing ones warn."
    ),
    cause=(
        "The platform's preStop hook runs /bin/sh -c with ps, grep, awk and kill to stop the "
        "server by name, and its job API runs /bin/bash -lc with a script that polls the hub "
        "with curl. Minimal images (no procps, no curl) start and serve, but the hook cannot "
        "stop the server cleanly and jobs cannot run."
    ),
    fix=(
        "Install the missing tools, e.g. on Debian/Ubuntu:\n"
        "  RUN apt-get update && apt-get install -y --no-install-recommends procps curl"
    ),
    evidence=("kubernetes-csi/csi-driver-host-path#175", "projectcontour/contour#1254"),
    needs=("server-starts",),
    probe=probe_platform_tools,
)
