"""Render docs/checks.md from the catalogue, so the documentation cannot drift.

python -m validator.checks.doc > docs/checks.md
"""

from __future__ import annotations

import re

from validator.checks import STAGES
from validator.checks.base import Check, Stage

_REPOS = {
    "jupyterhub": "jupyterhub/jupyterhub",
    "dockerspawner": "jupyterhub/dockerspawner",
    "kubespawner": "jupyterhub/kubespawner",
    "z2jh": "jupyterhub/zero-to-jupyterhub-k8s",
    "binderhub": "jupyterhub/binderhub",
    "docker-stacks": "jupyter/docker-stacks",
    "jupyter-remote-desktop-proxy": "jupyterhub/jupyter-remote-desktop-proxy",
    "jupyterhub-deploy-docker": "jupyterhub/jupyterhub-deploy-docker",
    "kubeflow": "kubeflow/kubeflow",
    "wolfi-dev/os": "wolfi-dev/os",
    "moby": "moby/moby",
    "tini": "krallin/tini",
}
_REF = re.compile(r"^(?P<repo>[\w./-]+?) ?(?P<pr>PR)?#(?P<num>\d+)$")

_STAGE_TEXT = {
    Stage.STATIC: "Static checks read the image configuration; no container runs.",
    Stage.EXEC: (
        "One short container runs `jupyterhub-singleuser --version` through the image's "
        "ENTRYPOINT, as the profile's uid, without network."
    ),
    Stage.RUNTIME: (
        "The server is started exactly as the profile's hub starts it (environment, command, "
        "uid, volumes, port, URL prefix) beside a stub hub API; with two command modes "
        "(jupyter4nfdi) each runtime check runs for both."
    ),
}


def link(ref: str) -> str:
    match = _REF.match(ref)
    if not match or match.group("repo") not in _REPOS:
        return ref
    kind = "pull" if match.group("pr") else "issues"
    url = f"https://github.com/{_REPOS[match.group('repo')]}/{kind}/{match.group('num')}"
    return f"[{ref}]({url})"


def _section(check: Check) -> str:
    fix = "\n".join(f"    {line}" for line in check.fix.splitlines())
    evidence = ", ".join(link(ref) for ref in check.evidence) or "-"
    return (
        f"### `{check.id}`: {check.title}\n\n"
        f"- **Cause:** {check.cause}\n"
        f"- **How detected:** {check.detection}\n"
        f"- **Evidence:** {evidence}\n"
        f"- **Fix:**\n\n{fix}\n"
    )


def render() -> str:
    parts = [
        "# Checks\n",
        "Every check has a stable id, shown in reports and usable in CI. A check reports "
        "`pass`, `warn`, `fail`, `skip` or `error`; any `fail` makes the image incompatible "
        "(exit 1). Checks are listed in the order they run and are reported.\n",
        "This file is generated: `python -m validator.checks.doc > docs/checks.md`.\n",
    ]
    for stage, checks in STAGES.items():
        parts.append(f"## {stage.value.capitalize()} checks\n\n{_STAGE_TEXT[stage]}\n")
        parts.extend(_section(c) for c in checks)
    return "\n".join(parts)


if __name__ == "__main__":
    print(render(), end="")
