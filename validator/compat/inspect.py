"""What an image holds, seen from one short container: the facts remedies depend on.

The probe is a POSIX sh script run as root with the ENTRYPOINT overridden, so an
entrypoint that ignores its arguments or needs a variable cannot hide the filesystem.
Its output is ``key<TAB>field...`` lines; ``parse`` turns them into an ``Inspection``
and is pure (unit-tested without Docker). An image without /bin/sh still gets an
inspection: one that found nothing, which the planner refuses with a reason.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field

import docker
import docker.errors

from validator.image import ImageInfo
from validator.runtime.sandbox import Sandbox

log = logging.getLogger(__name__)

INSPECT_TIMEOUT_S = 60
# Bounds what a hostile image can make us read: lines, and characters per line.
_MAX_LINES = 2000
_MAX_LINE = 4096
PACKAGE_MANAGERS = ("apt-get", "microdnf", "dnf", "yum", "apk", "zypper")
_MODULES = ("ipykernel", "jupyterhub", "jupyterlab", "jupyter_server", "notebook")

# One python call per interpreter: version, prefix, venv or not, whether it can make a
# venv with pip (ensurepip: Debian splits it into python3-venv), and which Jupyter
# modules it already has.
_PY_PROBE = (
    "import sys, importlib.util as u; "
    f"m = [n for n in {_MODULES!r} if u.find_spec(n)]; "
    "print('python', sys.executable, '.'.join(map(str, sys.version_info[:3])), sys.prefix, "
    "int(sys.prefix != getattr(sys, 'base_prefix', sys.prefix)), "
    "int(bool(u.find_spec('venv') and u.find_spec('ensurepip'))), "
    "int(bool(u.find_spec('pip'))), ','.join(m), sep='\\t')"
)

SCRIPT = r"""
exec 2>/dev/null
T="$(printf '\t')"
for pm in apt-get microdnf dnf yum apk zypper; do
    command -v "$pm" >/dev/null && echo "pm${T}$pm"
done
if ls /lib/ld-musl-* /usr/lib/ld-musl-* >/dev/null; then echo "libc${T}musl"
elif ls /lib*/ld-linux* /lib/*/ld-linux* /usr/lib*/ld-linux* >/dev/null; then echo "libc${T}glibc"; fi
[ -r /etc/os-release ] && . /etc/os-release && echo "os${T}${ID:-}${T}${VERSION_ID:-}"
for s in sh bash dash zsh ash; do command -v "$s" >/dev/null && echo "shell${T}$(command -v "$s")"; done
for i in tini tini-static dumb-init; do command -v "$i" >/dev/null && echo "init${T}$(command -v "$i")"; done
for d in $(echo "$PATH" | tr ':' ' ') /usr/local/bin /usr/bin /opt/*/bin /opt/*/*/bin; do
    for p in "$d"/python3 "$d"/python3.[0-9] "$d"/python3.[0-9][0-9]; do
        [ -f "$p" ] && [ -x "$p" ] && "$p" -c "$JHIV_PY_PROBE"
    done
done
if command -v R >/dev/null; then
    echo "r${T}$(command -v R)${T}$(R --version | sed -n '1s/^R version \([^ ]*\).*/\1/p')${T}$(Rscript -e 'cat(as.integer(requireNamespace("IRkernel", quietly = TRUE)))')"
fi
while IFS=: read -r name _ uid gid _ home shell; do
    echo "user${T}$name${T}$uid${T}$gid${T}$home${T}$shell"
done < /etc/passwd
while IFS=: read -r name _ gid _; do
    [ "$gid" = 100 ] && echo "group100${T}$name"
done < /etc/group
for h in /home/* /root; do [ -d "$h" ] && echo "home${T}$h${T}$(stat -c %u "$h")${T}$(stat -c %a "$h")"; done
echo "end"
"""


@dataclass(frozen=True)
class Python:
    path: str
    version: str
    prefix: str
    is_venv: bool
    can_venv: bool  # venv and ensurepip importable: it can make the server environment
    has_pip: bool
    modules: frozenset[str] = frozenset()

    @property
    def version_tuple(self) -> tuple[int, ...]:
        return tuple(int(p) for p in self.version.split(".") if p.isdigit())


@dataclass(frozen=True)
class Account:
    name: str
    uid: int
    gid: int
    home: str
    shell: str


@dataclass(frozen=True)
class Inspection:
    """The image's facts; ``ran`` is False when no shell could run the probe."""

    ran: bool
    package_managers: tuple[str, ...] = ()
    libc: str = "unknown"
    os_id: str = ""
    os_version: str = ""
    shells: tuple[str, ...] = ()
    init: str | None = None
    pythons: tuple[Python, ...] = ()
    r_path: str | None = None
    r_version: str | None = None
    irkernel: bool = False
    accounts: tuple[Account, ...] = ()
    group100: str | None = None
    # home directory -> (owner uid, octal mode)
    homes: dict[str, tuple[int, str]] = field(default_factory=dict)
    # From the image config, not the probe.
    user: str = ""
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)

    @property
    def package_manager(self) -> str | None:
        return self.package_managers[0] if self.package_managers else None

    @property
    def uid1000(self) -> Account | None:
        return next((a for a in self.accounts if a.uid == 1000), None)

    def account(self, user: str) -> Account | None:
        """The passwd entry of a Docker USER value (name or uid, optional :group)."""
        who = user.partition(":")[0]
        if not who:
            return None
        for a in self.accounts:
            if a.name == who or str(a.uid) == who:
                return a
        return None

    @property
    def user_python(self) -> Python | None:
        """The interpreter the user's code runs on: a venv first (what they installed
        into), then the first on PATH."""
        venvs = [p for p in self.pythons if p.is_venv]
        candidates = venvs or list(self.pythons)
        return candidates[0] if candidates else None

    @property
    def base_python(self) -> Python | None:
        """An interpreter that can create the server's venv (3.8+, venv and ensurepip)."""
        return next((p for p in self.pythons if p.can_venv and p.version_tuple >= (3, 8)), None)


def parse(output: str, config: ImageInfo | None = None) -> Inspection:
    """The probe's output (and the image config) as an Inspection. Pure."""
    lines = output.splitlines()[:_MAX_LINES]
    managers: list[str] = []
    shells: list[str] = []
    pythons: dict[str, Python] = {}
    accounts: list[Account] = []
    homes: dict[str, tuple[int, str]] = {}
    values: dict[str, str | None] = {"libc": "unknown", "os_id": "", "os_version": ""}
    init: str | None = None
    r_path = r_version = group100 = None
    irkernel = False
    ran = False
    for raw in lines:
        parts = raw[:_MAX_LINE].split("\t")
        key, rest = parts[0], parts[1:]
        if key == "end":
            ran = True
        elif key == "pm" and rest and rest[0] in PACKAGE_MANAGERS:
            managers.append(rest[0])
        elif key == "libc" and rest:
            values["libc"] = rest[0]
        elif key == "os" and len(rest) >= 2:
            values["os_id"], values["os_version"] = rest[0], rest[1]
        elif key == "shell" and rest and rest[0] not in shells:
            shells.append(rest[0])
        elif key == "init" and rest and init is None:
            init = rest[0]
        elif key == "python" and len(rest) >= 6:
            path, version, prefix, is_venv, can_venv, pip = rest[:6]
            modules = frozenset(m for m in (rest[6] if len(rest) > 6 else "").split(",") if m)
            # Several names (python3, python3.11, a symlink on PATH) are one environment.
            pythons.setdefault(
                prefix,
                Python(path, version, prefix, is_venv == "1", can_venv == "1", pip == "1", modules),
            )
        elif key == "r" and len(rest) >= 3:
            r_path, r_version, irkernel = rest[0], rest[1] or None, rest[2] == "1"
        elif key == "user" and len(rest) >= 5 and rest[1].isdigit() and rest[2].isdigit():
            accounts.append(Account(rest[0], int(rest[1]), int(rest[2]), rest[3], rest[4]))
        elif key == "group100" and rest:
            group100 = rest[0]
        elif key == "home" and len(rest) >= 3 and rest[1].isdigit():
            homes[rest[0]] = (int(rest[1]), rest[2])
    return Inspection(
        ran=ran,
        package_managers=tuple(managers),
        libc=values["libc"] or "unknown",
        os_id=values["os_id"] or "",
        os_version=values["os_version"] or "",
        shells=tuple(shells),
        init=init,
        pythons=tuple(pythons.values()),
        r_path=r_path,
        r_version=r_version,
        irkernel=irkernel,
        accounts=tuple(accounts),
        group100=group100,
        homes=homes,
        user=config.user if config else "",
        entrypoint=tuple(config.entrypoint or ()) if config else (),
        cmd=tuple(config.cmd or ()) if config else (),
        env=dict(config.env) if config else {},
    )


def inspect_image(client: docker.DockerClient, image: ImageInfo) -> Inspection:
    """Run the probe in one container (root, no network, removed whatever happens)."""
    with Sandbox(client) as sandbox:
        tc = sandbox.container(
            image.id,
            command=[SCRIPT],
            user="0",
            env={"JHIV_PY_PROBE": _PY_PROBE},
            entrypoint=["/bin/sh", "-c"],
        )
        try:
            container = sandbox.start(tc)
        except docker.errors.APIError as exc:
            # No /bin/sh: nothing to build on; the planner says so.
            log.info("Inspection of %s could not start: %s", image.id[7:19], exc.explanation)
            return parse("", image)
        try:
            with contextlib.suppress(Exception):  # a timeout: read what it said so far
                container.wait(timeout=INSPECT_TIMEOUT_S)
            raw = container.logs(stdout=True, stderr=False, tail=_MAX_LINES)
        finally:
            sandbox.remove_container(container)
    return parse(raw.decode("utf-8", "replace"), image)


def summary(found: Inspection) -> list[str]:
    """Lines for the user: what the image holds."""
    if not found.ran:
        return ["no /bin/sh: the image's filesystem could not be inspected"]
    lines = [
        f"OS: {found.os_id or 'unknown'} {found.os_version}".rstrip()
        + f", libc {found.libc}, package manager {found.package_manager or 'none'}",
    ]
    for p in found.pythons:
        extras = [
            "venv" if p.is_venv else "system",
            "can make venvs" if p.can_venv else "no venv/ensurepip",
            "pip" if p.has_pip else "no pip",
        ]
        mods = f"; has {', '.join(sorted(p.modules))}" if p.modules else ""
        lines.append(f"Python {p.version} at {p.path} ({', '.join(extras)}{mods})")
    if not found.pythons:
        lines.append("Python: none")
    if found.r_path:
        lines.append(
            f"R {found.r_version or '?'} at {found.r_path}"
            + (" (IRkernel installed)" if found.irkernel else " (no IRkernel)")
        )
    lines.append(f"Shells: {', '.join(found.shells) or 'none'}; init: {found.init or 'none'}")
    u1000 = found.uid1000
    lines.append(
        f"uid 1000: {u1000.name} (gid {u1000.gid}, home {u1000.home})"
        if u1000
        else "uid 1000: none"
    )
    lines.append(f"USER: {found.user or 'root (unset)'}")
    lines.append(
        f"ENTRYPOINT: {list(found.entrypoint) or 'none'}; CMD: {list(found.cmd) or 'none'}"
    )
    return lines
