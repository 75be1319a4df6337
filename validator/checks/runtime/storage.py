"""Can users save files: in the server's root, and on the user-data mount?"""

from __future__ import annotations

import uuid

import requests

from validator.checks.base import Check, Stage, tail
from validator.checks.diagnosis import diagnose
from validator.checks.runtime import RuntimeContext
from validator.checks.runtime._http import Api
from validator.findings import Finding


def probe_home_writable(ctx: RuntimeContext) -> Finding:
    """Save, read back and delete a file through the contents API, as a user would."""
    # Not a dot-file: jupyter_server refuses hidden files by default.
    name = f"jhiv-probe-{uuid.uuid4().hex[:8]}.txt"
    path = f"api/contents/{name}"
    api = Api(ctx.candidate)
    body = {"type": "file", "format": "text", "content": "written by jupyterhub-image-validator"}
    try:
        saved = api.request("PUT", path, json=body)
        if saved.status_code not in (200, 201):
            cause = diagnose(saved.text)
            return HOME_WRITABLE.failed(
                f"saving a file in the server's root directory failed ({saved.status_code})"
                + (f": {cause.cause}" if cause else ""),
                evidence=saved.text[:400],
            )
        read = api.request("GET", path)
        api.request("DELETE", path)
    except requests.RequestException as exc:
        return HOME_WRITABLE.failed(f"the contents API failed: {exc.__class__.__name__}")
    if read.status_code != 200 or read.json().get("content") != body["content"]:
        return HOME_WRITABLE.failed("a saved file could not be read back", evidence=read.text[:300])
    return HOME_WRITABLE.passed("a file was saved, read back and deleted in the server's root")


def _server_uid(ctx: RuntimeContext) -> int | None:
    """The uid the server really runs as (an entrypoint may switch), else the profile's."""
    candidate = ctx.candidate
    for listener in candidate.listeners() or []:
        if listener.port == candidate.port:
            return listener.uid
    return ctx.profile.uid


def probe_mount_writable(ctx: RuntimeContext) -> Finding:
    """Write, read back and remove a file under the mount path as the server's uid."""
    candidate, mount_path = ctx.candidate, ctx.profile.mount_path
    if not mount_path:
        return MOUNT_WRITABLE.skipped("no mount path given (--mount-path)")
    uid = _server_uid(ctx)
    script = 'f="$0/.jhiv-probe-$$" && echo ok > "$f" && cat "$f" && rm -f "$f"'
    user = str(uid) if uid is not None else None
    try:
        result = candidate.container.exec_run(["sh", "-c", script, mount_path], user=user or "")
    except Exception as exc:  # the engine refused the exec (no sh in the image)
        return MOUNT_WRITABLE.skipped(f"cannot exec in the container: {exc.__class__.__name__}")
    output = result.output.decode("utf-8", "replace")
    who = f"uid {uid}" if uid is not None else "the image user"
    if result.exit_code == 0 and output.strip() == "ok":
        return MOUNT_WRITABLE.passed(f"{mount_path} is writable by {who}")
    return MOUNT_WRITABLE.failed(
        f"{mount_path} is not writable by {who}", evidence=tail(output, 6) or None
    )


HOME_WRITABLE = Check(
    id="home-writable",
    title="Users can save files where the server starts",
    stage=Stage.RUNTIME,
    detection="Saves a file through the contents API in the server's root directory, reads it back and deletes it, as the runtime uid.",
    cause=(
        "The runtime uid (1000 on z2jh, arbitrary on OpenShift) must own or share its home "
        "and working directory; otherwise saving fails and the runtime dir raises "
        "PermissionError."
    ),
    fix=(
        "Give the user its home, group-writable for gid 100:\n"
        "  RUN chown -R 1000:100 /home/jovyan && chmod -R g+rwX /home/jovyan"
    ),
    evidence=(
        "z2jh#819",
        "z2jh#894",
        "binderhub#964",
        "docker-stacks#1003",
        "docker-stacks#465",
    ),
    needs=("server-starts",),
    probe=probe_home_writable,
)

MOUNT_WRITABLE = Check(
    id="mount-writable",
    title="The user-data mount path is usable",
    stage=Stage.RUNTIME,
    detection="With --mount-path, an empty volume (owned as the platform creates it) is mounted there; a file is written, read back and removed as the server's uid.",
    cause=(
        "The platform mounts persistent storage at the chosen path; it must not clash "
        "with the image (hiding its files) and the runtime uid must write there."
    ),
    fix="Choose a mount path the image does not use (e.g. /mnt/userdata) and run as a uid in the volume's group.",
    evidence=("kubeflow PR#786", "docker-stacks#229", "jupyterhub-deploy-docker#61"),
    needs=("server-starts",),
    probe=probe_mount_writable,
)
