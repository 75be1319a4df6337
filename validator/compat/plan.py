"""Findings + inspection -> the remedies to apply -> the Dockerfile. Pure.

A remedy is chosen when a check it answers failed or warned, or when another chosen
remedy implies it (a new server needs a start command that runs it, and kernels for
the image's own interpreters). A failure that no applicable remedy answers makes the
image unfixable, with the reason; an image with nothing to fix gets no Dockerfile.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import jinja2

from validator.compat.inspect import Inspection, Python
from validator.compat.remedies import (
    BY_ID,
    DEFAULT_GID,
    DEFAULT_UID,
    DEFAULT_USER,
    INSTALL,
    PACKAGES,
    REMEDIES,
    SERVER_ENV,
    Remedy,
)
from validator.findings import Finding, Status

TEMPLATE = "make-compatible/Dockerfile.j2"
# Warnings worth acting on: each has a remedy that removes its cause.
_ACTIONABLE_WARNINGS = frozenset(
    {"home-path", "platform-tools", "singleuser-app-env", "stops-promptly", "hub-api-tls"}
)
_INITS = ("tini", "tini-static", "dumb-init")
# An ENTRYPOINT that is itself a server start would run instead of jupyterhub-singleuser.
_SERVER_STARTERS = ("jupyter", "jupyter-lab", "jupyter-notebook", "jupyterhub-singleuser")


@dataclass(frozen=True)
class Chosen:
    remedy: Remedy
    # The failing or warning checks it answers; empty when another remedy implied it.
    answers: tuple[str, ...]
    implied_by: str | None = None


@dataclass(frozen=True)
class Plan:
    chosen: tuple[Chosen, ...] = ()
    # Failing checks nothing here can fix, each with why.
    unfixable: tuple[tuple[str, str], ...] = ()
    dockerfile: str | None = None

    @property
    def remedy_ids(self) -> tuple[str, ...]:
        return tuple(c.remedy.id for c in self.chosen)

    @property
    def nothing_to_do(self) -> bool:
        return not self.chosen and not self.unfixable


@dataclass(frozen=True)
class Context:
    """What the fragments see (the ``p`` of templates/make-compatible/*.j2)."""

    source: str
    source_digest: str
    remedy_ids: tuple[str, ...]
    install: str | None
    server_env: str = SERVER_ENV
    server_specs: tuple[str, ...] = ()
    base_python: str = "/usr/bin/python3"
    system_site: bool = False
    user_python: str = ""
    user_prefix: str = ""
    user_version: str = ""
    kernel_install: bool = False
    create_user: bool = False
    user_name: str = DEFAULT_USER
    uid: int = DEFAULT_UID
    gid: int = DEFAULT_GID
    home: str = f"/home/{DEFAULT_USER}"
    login_shell: str = "/bin/sh"
    entrypoint: tuple[str, ...] = ()
    run_user: str = "root"
    extra: dict[str, Any] = field(default_factory=dict)


def calls(findings: Iterable[Finding]) -> dict[str, Status]:
    """The checks that ask for a change: failures, and the actionable warnings."""
    out: dict[str, Status] = {}
    for f in findings:
        asks = f.status is Status.FAIL or (
            f.status is Status.WARN and f.check_id in _ACTIONABLE_WARNINGS
        )
        # A check seen under several command modes: a failure outranks a warning.
        if asks and out.get(f.check_id) is not Status.FAIL:
            out[f.check_id] = f.status
    return out


def choose(
    findings: Iterable[Finding], found: Inspection
) -> tuple[list[Chosen], list[tuple[str, str]]]:
    """The remedies the findings call for, and the failures none can fix."""
    asked = calls(findings)
    chosen: dict[str, Chosen] = {}
    why_not: dict[str, str] = {}
    for remedy in REMEDIES:
        answers = tuple(sorted(remedy.fixes & asked.keys()))
        if not answers:
            continue
        refusal = remedy.refuses(found)
        if refusal is None:
            chosen[remedy.id] = Chosen(remedy, answers)
        else:
            why_not[remedy.id] = refusal
    if "server-env" in chosen:
        for implied in _implied_by_server(found):
            if implied not in chosen and BY_ID[implied].refuses(found) is None:
                chosen[implied] = Chosen(BY_ID[implied], (), implied_by="server-env")
    elif "server-env" in why_not:
        # Kernels and a start command are no use without a server to run them.
        for dependent in ("user-kernel", "r-kernel"):
            chosen.pop(dependent, None)
    if "user-kernel" in chosen and "server-env" not in chosen:
        chosen.pop("user-kernel")
    if "r-kernel" in chosen and "server-env" not in chosen:
        chosen.pop("r-kernel")
    fixed = {c for ch in chosen.values() for c in ch.answers}
    unfixable = []
    for check_id, status in asked.items():
        if status is not Status.FAIL or check_id in fixed:
            continue
        reasons = [why_not[r.id] for r in REMEDIES if check_id in r.fixes and r.id in why_not]
        unfixable.append((check_id, "; ".join(reasons) or "make-compatible has no remedy for it"))
    order = [r.id for r in REMEDIES]
    return sorted(chosen.values(), key=lambda c: order.index(c.remedy.id)), unfixable


def _implied_by_server(found: Inspection) -> list[str]:
    implied = ["user-kernel", "r-kernel"]
    if not _runs_singleuser(found.cmd):
        implied.append("start-command")
    account = found.account(found.user)
    if account is None or account.uid == 0 or _home_not_own(found, account.home, account.uid):
        # The runtime checks were skipped without a server; a root or homeless USER
        # would fail them once one starts.
        implied.append("user")
    return implied


def _runs_singleuser(cmd: tuple[str, ...]) -> bool:
    return bool(cmd) and PurePosixPath(cmd[0]).name == "jupyterhub-singleuser"


def _home_not_own(found: Inspection, home: str, uid: int) -> bool:
    owner = found.homes.get(home)
    return owner is None or owner[0] != uid


def kept_entrypoint(found: Inspection, asked: dict[str, Status]) -> tuple[str, ...]:
    """The part of the original ENTRYPOINT worth keeping after tini: one that passes
    its arguments on and is not itself a server start; an init in front is dropped
    (ours replaces it)."""
    entry = list(found.entrypoint)
    if entry and PurePosixPath(entry[0]).name in _INITS:
        entry = entry[entry.index("--") + 1 :] if "--" in entry else entry[1:]
    if not entry or "entrypoint-form" in asked:
        return ()
    if PurePosixPath(entry[0]).name in _SERVER_STARTERS or any(a.startswith("--") for a in entry):
        return ()
    return tuple(entry)


def _packages(chosen: Iterable[Chosen], found: Inspection) -> str | None:
    manager = found.package_manager
    if manager is None:
        return None
    names = PACKAGES[manager]
    wanted = sorted({names[n] for c in chosen for n in c.remedy.needs(found) if n in names})
    if not wanted:
        return None
    return INSTALL[manager].format(packages=" ".join(shlex.quote(w) for w in wanted))


def _base_python(found: Inspection) -> tuple[str, bool]:
    """The interpreter the server venv is made from, and whether it sees the system
    site-packages (when the user's Python is that system interpreter, the server's
    kernel then imports the user's packages)."""
    user = found.user_python
    base = found.base_python
    if user is not None and not user.is_venv and (base is None or base.prefix == user.prefix):
        # Made from the user's own system Python (installing venv support if needed).
        return (base.path if base else "/usr/bin/python3"), True
    if base is None:
        return "/usr/bin/python3", False
    system = next((p for p in found.pythons if p.can_venv and not p.is_venv), base)
    return system.path, False


def context(
    chosen: list[Chosen],
    found: Inspection,
    asked: dict[str, Status],
    *,
    source: str,
    source_digest: str,
    hub_version: str,
) -> Context:
    ids = tuple(c.remedy.id for c in chosen)
    user: Python | None = found.user_python
    base, system_site = _base_python(found)
    kernel_from_user = "user-kernel" in ids and user is not None
    specs = [f"jupyterhub=={hub_version}", "jupyterlab"]
    if not kernel_from_user:
        specs.append("ipykernel")
    existing = found.uid1000
    shell = next((s for s in found.shells if s.endswith("/bash")), "/bin/sh")
    run_user = found.user or "root"
    create = False
    name, uid, gid, home = DEFAULT_USER, DEFAULT_UID, DEFAULT_GID, f"/home/{DEFAULT_USER}"
    if "user" in ids:
        if existing is not None:
            name, uid = existing.name, existing.uid
            home = existing.home if existing.home not in ("", "/") else f"/home/{existing.name}"
        else:
            create = True
        run_user = name
    entry: tuple[str, ...] = ()
    if "start-command" in ids:
        init = found.init or ("/usr/bin/tini" if found.package_manager in PACKAGES else None)
        if init is not None and found.package_manager not in ("apt-get", None) and not found.init:
            init = "/sbin/tini"
        kept = kept_entrypoint(found, asked)
        if init is None:
            entry = kept
        elif PurePosixPath(init).name == "dumb-init":
            entry = (init, *kept)
        else:
            entry = (init, "-g", "--", *kept)
    return Context(
        source=source,
        source_digest=source_digest,
        remedy_ids=ids,
        install=_packages(chosen, found),
        server_specs=tuple(specs),
        base_python=base,
        system_site=system_site,
        user_python=user.path if user else "",
        user_prefix=user.prefix if user else "",
        user_version=user.version if user else "",
        kernel_install=kernel_from_user and user is not None and "ipykernel" not in user.modules,
        create_user=create,
        user_name=name,
        uid=uid,
        gid=gid,
        home=home,
        login_shell=shell,
        entrypoint=entry,
        run_user=run_user,
    )


def environment(templates: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # Dockerfiles, not HTML
    )
    env.filters["shell_quote"] = shlex.quote
    return env


def render(templates: Path, ctx: Context) -> str:
    env = environment(templates)
    stages: dict[str, list[str]] = {"builder": [], "final": []}
    for remedy_id in ctx.remedy_ids:
        module = env.get_template(BY_ID[remedy_id].template).module
        for stage, texts in stages.items():
            macro = getattr(module, stage, None)
            if macro is not None:
                text = str(macro(ctx)).strip("\n")
                if text.strip():
                    texts.append(text)
    text = env.get_template(TEMPLATE).render(p=ctx, **stages)
    return text.rstrip("\n") + "\n"


def plan(
    findings: Iterable[Finding],
    found: Inspection,
    templates: Path,
    *,
    source: str,
    source_digest: str,
    hub_version: str,
) -> Plan:
    """The whole plan: remedies, unfixable failures, and the Dockerfile when there is
    something to build and nothing stands in the way."""
    findings = list(findings)
    chosen, unfixable = choose(findings, found)
    if unfixable or not chosen:
        return Plan(tuple(chosen), tuple(unfixable), None)
    ctx = context(
        chosen,
        found,
        calls(findings),
        source=source,
        source_digest=source_digest,
        hub_version=hub_version,
    )
    return Plan(tuple(chosen), (), render(templates, ctx))
