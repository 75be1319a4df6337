"""Command-line flags that override the address the hub chooses."""

from __future__ import annotations

import re

from validator.checks.base import Check, Stage
from validator.findings import Finding
from validator.image import ImageInfo
from validator.profiles import CommandMode, Profile

_FLAG = re.compile(
    r"^--(?:ServerApp\.|NotebookApp\.|SingleUserNotebookApp\.)?(port|ip|base_url)(?:=(.*))?$"
)
_ANY_ADDRESS = {"0.0.0.0", "", "*", "::", "[::]"}


def _pinned(words: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for i, word in enumerate(words):
        match = _FLAG.match(word)
        if match:
            value = match.group(2)
            if value is None:
                value = words[i + 1] if i + 1 < len(words) else ""
            found[match.group(1)] = value.strip("'\"")
    return found


def _conflicts(pinned: dict[str, str], profile: Profile) -> list[str]:
    conflicts = []
    if "port" in pinned and pinned["port"] != str(profile.port):
        conflicts.append(f"--port={pinned['port']} (the hub uses {profile.port})")
    if "ip" in pinned and pinned["ip"] not in _ANY_ADDRESS:
        conflicts.append(f"--ip={pinned['ip']} (the hub connects from outside the container)")
    if "base_url" in pinned and pinned["base_url"].rstrip("/") != profile.service_prefix.rstrip(
        "/"
    ):
        conflicts.append(f"--base_url={pinned['base_url']} (the hub uses {profile.service_prefix})")
    return conflicts


def check_port_not_pinned(image: ImageInfo, profile: Profile) -> Finding:
    # Under cmd=jupyterhub-singleuser the image CMD is replaced, so only its ENTRYPOINT counts.
    cmd = image.cmd or () if CommandMode.IMAGE in profile.command_modes else ()
    pinned = _pinned([*(image.entrypoint or ()), *cmd])
    evidence = f"Entrypoint: {list(image.entrypoint or ())}\nCmd: {list(image.cmd or ())}"
    if not pinned:
        exposed = ", ".join(image.exposed_ports) or "none"
        return PORT_NOT_PINNED.passed(f"nothing pinned in the command (EXPOSE: {exposed})")
    conflicts = _conflicts(pinned, profile)
    if conflicts:
        return PORT_NOT_PINNED.failed(
            "the command overrides the hub's choice: " + "; ".join(conflicts), evidence=evidence
        )
    shown = ", ".join(f"--{k}={v}" for k, v in pinned.items())
    return PORT_NOT_PINNED.warned(
        f"the command pins {shown}: it happens to match this hub, but breaks on any hub "
        "that chooses another port or prefix",
        evidence=evidence,
    )


PORT_NOT_PINNED = Check(
    id="port-not-pinned",
    title="The command does not pin the port, address or base URL",
    stage=Stage.STATIC,
    detection="Looks for --port, --ip and --ServerApp.base_url in ENTRYPOINT and (when the image CMD is used) CMD; fails when a value conflicts with the profile's port, an any-address bind or the URL prefix, warns when it only happens to match.",
    cause=(
        "The hub chooses port, address and URL prefix through JUPYTERHUB_SERVICE_URL; "
        "--port, --ip or --ServerApp.base_url on the command line override it, and the "
        "hub never reaches the server."
    ),
    fix="Remove --port/--ip/--ServerApp.port/--ServerApp.base_url from CMD and ENTRYPOINT.",
    evidence=("jupyterhub#4450", "dockerspawner#319", "dockerspawner#59", "kubespawner#311"),
    probe=check_port_not_pinned,
)
