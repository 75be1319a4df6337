"""Can users save files: in the server's root, and on the user-data mount?"""

from __future__ import annotations

import uuid

import docker.errors
import requests

from validator.checks.base import Check, Stage, tail
from validator.checks.diagnosis import diagnose
from validator.checks.runtime import RuntimeContext
from validator.checks.runtime._http import Api
from validator.findings import Finding
from validator.profiles import Profile
from validator.runtime.imagefiles import list_path
from validator.runtime.volumes import volume_spec


def volume_root(ctx: RuntimeContext, path: str) -> str:
    """'bind, owner 1000:100, mode 0755': the volume's kind and its root as the server sees it.

    Read from the running container (a docker-volume takes its owner from the image);
    as the platform makes it when the engine cannot say.
    """
    spec = volume_spec(ctx.profile)
    try:
        listing = list_path(ctx.candidate.container, path, max_entries=0, max_bytes=1 << 20)
    except docker.errors.APIError:
        listing = None
    if listing is None or listing.root is None:
        return spec.describe()
    root = listing.root
    return f"{spec.kind}, owner {root.owner}, mode {root.octal_mode}"


def volume_fix(profile: Profile, path: str) -> str | None:
    """What the image can change so that the server's uid writes to ``path``; None: generic."""
    kind = profile.volume_kind
    ids = profile.volume_owner_ids
    if kind == "bind" and ids is not None:
        uid, gid = ids
        return (
            f"The platform gives users {path} as an existing directory owned by {uid}:{gid}, "
            "mode 0755, and does not change its owner: run the server as that uid.\n"
            f"  USER {uid}   # or USER jovyan where jovyan is uid {uid}"
        )
    if kind == "docker-volume":
        return (
            f"A new Docker volume takes the owner and mode of the image's {path}: create it "
            "in the image, owned by the server's user.\n"
            f"  RUN mkdir -p {path} && chown 1000:100 {path}\n  USER 1000"
        )
    if profile.fs_gid is not None:
        gid = profile.fs_gid
        return (
            f"{path} belongs to group {gid}, group-writable: keep the server in group {gid} "
            "(an entrypoint that switches users with su or gosu drops the supplementary "
            f"group), e.g. USER 1000:{gid}"
        )
    return None


def probe_home_writable(ctx: RuntimeContext) -> Finding:
    """Save, read back and delete a file through the contents API, as a user would."""
    # Not a dot-file: jupyter_server refuses hidden files by default.
    name = f"jhiv-probe-{uuid.uuid4().hex[:8]}.txt"
    path = f"api/contents/{name}"
    api = Api(ctx.candidate)
    body = {"type": "file", "format": "text", "content": "written by jupyterhub-image-validator"}
    home = ctx.profile.home_volume
    try:
        saved = api.request("PUT", path, json=body)
        if saved.status_code not in (200, 201):
            cause = diagnose(saved.text)
            where, fix = "the server's root directory", None
            if home:
                uid = _server_uid(ctx)
                who = f"uid {uid}" if uid is not None else "the image user"
                where = f"the server's root directory {home} ({volume_root(ctx, home)}) for {who}"
                fix = volume_fix(ctx.profile, home)
            return HOME_WRITABLE.failed(
                f"saving a file in {where} failed ({saved.status_code})"
                + (f": {cause.cause}" if cause else ""),
                fix=fix,
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
        return MOUNT_WRITABLE.passed(
            f"the user-data directory {mount_path} ({volume_root(ctx, mount_path)}) "
            f"is writable by {who}"
        )
    root = volume_root(ctx, mount_path)
    return MOUNT_WRITABLE.failed(
        f"the user-data directory {mount_path} ({root}) is not writable for {who}",
        fix=volume_fix(ctx.profile, mount_path),
        evidence=tail(output, 6) or None,
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
    detection=(
        "A volume of the profile's volume_kind is mounted at mount_path (bind: an existing "
        "empty directory owned by volume_owner, mode 0755; docker-volume: a named volume "
        "filled from the image; pvc: empty, group fs_gid, mode 2775); a file is written, "
        "read back and removed as the server's uid."
    ),
    cause=(
        "The platform mounts the user's storage at that path, owned as its storage makes "
        "it; a server whose uid cannot write there cannot save anything users keep."
    ),
    fix=(
        "Run the server as the uid (or in the group) that owns the platform's directory:\n"
        "  USER 1000"
    ),
    evidence=("docker-stacks#229", "jupyterhub-deploy-docker#61", "kubeflow#2567"),
    needs=("server-starts",),
    probe=probe_mount_writable,
)
