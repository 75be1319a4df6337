"""Remedies as data: what each adds, which failing checks it answers, when it applies.

A remedy is a Jinja2 fragment (templates/make-compatible/<id>.j2) that may define up to
three macros, one per stage of the generated Dockerfile:

    prepare(p)  as root on the user's image: system packages (no CA needed: apt/dnf
                reach their mirrors through the engine's own proxy settings)
    builder(p)  in the builder stage, the only one that sees _build/ca.pem and the
                wheelhouse: pip installs
    final(p)    in the final stage: copies from the builder, users, ENV, ENTRYPOINT

``p`` is the rendering context the planner builds (validator.compat.plan.Context).
Packages are named by what they provide (``needs``); the planner maps them to the
image's package manager and installs them all in one step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from validator.compat.inspect import Inspection

SERVER_ENV = "/opt/jhiv-server"
DEFAULT_USER = "jovyan"
DEFAULT_UID = 1000
DEFAULT_GID = 100

# Logical package -> the package providing it, per package manager. A missing entry
# means the manager's repositories have none we rely on.
PACKAGES: dict[str, dict[str, str]] = {
    "apt-get": {
        "python": "python3",
        "venv": "python3-venv",
        "tini": "tini",
        "ca-certificates": "ca-certificates",
        "procps": "procps",
        "curl": "curl",
        "bash": "bash",
        "irkernel": "r-cran-irkernel",
    },
    "dnf": {
        "python": "python3",
        "venv": "python3",
        "tini": "tini",
        "ca-certificates": "ca-certificates",
        "procps": "procps-ng",
        "curl": "curl",
        "bash": "bash",
    },
    "apk": {
        "python": "python3",
        "venv": "python3",
        "tini": "tini",
        "ca-certificates": "ca-certificates",
        "procps": "procps",
        "curl": "curl",
        "bash": "bash",
    },
    "zypper": {
        "python": "python3",
        "venv": "python3",
        "ca-certificates": "ca-certificates",
        "procps": "procps",
        "curl": "curl",
        "bash": "bash",
    },
}
PACKAGES["microdnf"] = PACKAGES["yum"] = PACKAGES["dnf"]

# One install command per manager; {packages} is the quoted list.
INSTALL: dict[str, str] = {
    "apt-get": (
        "apt-get update --yes"
        " && DEBIAN_FRONTEND=noninteractive apt-get install --yes --no-install-recommends"
        " {packages} && apt-get clean && rm -rf /var/lib/apt/lists/*"
    ),
    "dnf": "dnf install -y --setopt=install_weak_deps=False {packages} && dnf clean all",
    "yum": "yum install -y {packages} && yum clean all",
    "microdnf": "microdnf install -y {packages} && microdnf clean all",
    "apk": "apk add --no-cache {packages}",
    "zypper": "zypper --non-interactive install --no-recommends {packages} && zypper clean --all",
}


@dataclass(frozen=True)
class Remedy:
    """One thing make-compatible can add to an image."""

    id: str
    summary: str
    # The check ids whose failure (or warning) calls for this remedy.
    fixes: frozenset[str]
    # Logical packages it needs from the system package manager (see PACKAGES).
    needs: Callable[[Inspection], frozenset[str]]
    # None when it can apply to this image; else why not.
    refuses: Callable[[Inspection], str | None]

    @property
    def template(self) -> str:
        return f"make-compatible/{self.id}.j2"


def _nothing(found: Inspection) -> frozenset[str]:
    return frozenset()


def _always(found: Inspection) -> str | None:
    return None


def _server_needs(found: Inspection) -> frozenset[str]:
    if found.base_python is not None:
        return frozenset()
    # Debian's python3 lacks ensurepip until python3-venv is installed.
    return frozenset({"python", "venv"})


def _server_refuses(found: Inspection) -> str | None:
    if not found.ran:
        return "the image has no /bin/sh to run the install steps with"
    if found.base_python is not None:
        return None
    if found.package_manager is None:
        return (
            "no Python that can create a venv (3.8+ with venv and ensurepip) and no "
            "package manager to install one with"
        )
    if "venv" not in PACKAGES[found.package_manager]:
        return f"{found.package_manager} has no Python package we know of"
    return None


def _user_kernel_refuses(found: Inspection) -> str | None:
    user = found.user_python
    if user is None or not user.is_venv:
        return "the image's Python is not a venv (the server env sees its packages instead)"
    if not user.has_pip and "ipykernel" not in user.modules:
        return f"{user.prefix} has no pip to install ipykernel with"
    if "bash" not in " ".join(found.shells):
        return "installing into the user's venv needs bash (env-install.sh)"
    return None


def _r_needs(found: Inspection) -> frozenset[str]:
    return frozenset() if found.irkernel else frozenset({"irkernel"})


def _r_refuses(found: Inspection) -> str | None:
    if found.r_path is None:
        return "the image has no R"
    if found.irkernel:
        return None
    manager = found.package_manager
    if manager is None or "irkernel" not in PACKAGES[manager]:
        return "IRkernel is not installed and no package manager provides it"
    return None


def _start_needs(found: Inspection) -> frozenset[str]:
    return frozenset() if found.init or found.package_manager is None else frozenset({"tini"})


def _user_refuses(found: Inspection) -> str | None:
    if not found.ran:
        return "the image has no /bin/sh to create the user with"
    return None


def _tools_needs(found: Inspection) -> frozenset[str]:
    return frozenset({"procps", "curl", "bash"})


def _tools_refuses(found: Inspection) -> str | None:
    return None if found.package_manager else "no package manager to install procps and curl"


def _ca_refuses(found: Inspection) -> str | None:
    return None if found.package_manager else "no package manager to install ca-certificates"


SINGLEUSER_CHECKS = frozenset(
    {"singleuser-installed", "singleuser-imports", "singleuser-version", "kernel-runs"}
)

REMEDIES: tuple[Remedy, ...] = (
    Remedy(
        "server-env",
        f"an isolated venv at {SERVER_ENV} with jupyterhub (the hub's version) and "
        "JupyterLab, its bin first on PATH",
        SINGLEUSER_CHECKS | {"server-api"},
        _server_needs,
        _server_refuses,
    ),
    Remedy(
        "user-kernel",
        "ipykernel in the image's own venv, registered as the default python3 kernel, "
        "so notebooks see the user's packages",
        SINGLEUSER_CHECKS,
        _nothing,
        _user_kernel_refuses,
    ),
    Remedy(
        "r-kernel",
        "IRkernel registered with the server env, so R notebooks run the image's R",
        SINGLEUSER_CHECKS,
        _r_needs,
        _r_refuses,
    ),
    Remedy(
        "user",
        "a non-root user with uid 1000 (the existing one, or jovyan 1000:100), a "
        "writable HOME, /etc/passwd group-writable for arbitrary uids",
        frozenset({"image-user", "home-writable", "home-path", "mount-writable"}),
        _nothing,
        _user_refuses,
    ),
    Remedy(
        "start-command",
        'tini as PID 1 and CMD ["jupyterhub-singleuser"]; an ENTRYPOINT that passes its '
        "arguments on is kept after tini, one that does not is dropped",
        frozenset(
            {
                "command",
                "entrypoint-form",
                "port-not-pinned",
                "listen-address",
                "server-starts",
                "stops-promptly",
                "stability",
            }
        ),
        _start_needs,
        _always,
    ),
    Remedy(
        "singleuser-app",
        "JUPYTERHUB_SINGLEUSER_APP set to Jupyter Server's app",
        frozenset({"singleuser-app-env"}),
        _nothing,
        _always,
    ),
    Remedy(
        "platform-tools",
        "procps, curl and bash, which the platform's hooks and job API run",
        frozenset({"platform-tools"}),
        _tools_needs,
        _tools_refuses,
    ),
    Remedy(
        "ca-certificates",
        "the system CA bundle, so the server can verify the hub's https API",
        frozenset({"hub-api-tls"}),
        lambda found: frozenset({"ca-certificates"}),
        _ca_refuses,
    ),
)

BY_ID = {r.id: r for r in REMEDIES}
