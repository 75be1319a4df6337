"""Does the user-data mount hide files the image ships at its path?

An EXEC-stage check: it needs the image's filesystem, which only a container gives
(a created one, never started: no code of the image runs), and it depends on the
image alone, not on a command mode, so it is answered once and not per spawn. The
spawned candidate cannot answer it: its mount already covers what the image has there.
"""

from __future__ import annotations

import contextlib

import docker.errors

from validator.checks.base import Check, Stage
from validator.checks.singleuser import ExecContext
from validator.findings import Finding
from validator.profiles import Profile
from validator.runtime.imagefiles import Entry, Listing, list_path
from validator.runtime.volumes import mount_targets

__all__ = ["MOUNT_HIDES_CONTENT", "hidden_entries", "judge_hidden", "probe_mount_hides_content"]

# How many hidden paths a message names.
_SHOWN = 4
_SKELETON = "/etc/skel"


def hidden_entries(listing: Listing, skeleton: Listing | None) -> list[Entry]:
    """What a mount over the listed directory hides, less useradd's skeleton copies.

    Every home made by ``useradd -m`` holds /etc/skel's shell files; a mount that hides
    those takes nothing the image meant to give its users.
    """
    skel = {(e.path, e.size) for e in skeleton.entries if not e.is_dir} if skeleton else set()
    return [e for e in listing.entries if (e.path, e.size) not in skel]


def _named(entries: list[Entry]) -> str:
    # Files say what is lost; directories only when there is nothing else to name.
    files = [e for e in entries if not e.is_dir] or entries
    names = [e.path[:80] + ("/" if e.is_dir else "") for e in files[:_SHOWN]]
    more = ", ..." if len(files) > _SHOWN else ""
    return ", ".join(names) + more


def _count(entries: list[Entry], complete: bool) -> str:
    files = sum(1 for e in entries if not e.is_dir)
    what = f"{files} file{'s' if files != 1 else ''}" if files else f"{len(entries)} directories"
    return what if complete else f"at least {what}"


def judge_hidden(profile: Profile, hidden: dict[str, tuple[list[Entry], bool]]) -> Finding:
    """The finding for what each mount target hides (target -> (entries, complete))."""
    found = {target: seen for target, seen in hidden.items() if seen[0]}
    if not found:
        targets = ", ".join(hidden)
        return MOUNT_HIDES_CONTENT.passed(
            f"the image has no files at {targets} for the mount to hide"
        )
    kind = profile.volume_kind
    parts = []
    for target, (entries, complete) in found.items():
        what = f"{_count(entries, complete)} under {target} ({_named(entries)})"
        if kind == "docker-volume":
            parts.append(
                f"the image has {what}: Docker copies them into the volume on its first use "
                "only (while the volume is empty); later versions of the image's files there "
                "stay hidden behind the user's volume"
            )
        else:
            parts.append(f"the image has {what}, which the {kind} mount hides")
    where = ", ".join(found)
    fix = (
        f"The platform mounts the user's storage at {where}, over the image's files there. "
        "Ship them elsewhere (e.g. /opt/<project>) and copy them into the user's directory "
        "at start if users need them there, or tell users where to find them."
    )
    return MOUNT_HIDES_CONTENT.warned("; ".join(parts), fix=fix)


def probe_mount_hides_content(ctx: ExecContext) -> Finding:
    """List what the image has at each mount target, from a container that never starts."""
    targets = mount_targets(ctx.profile)
    if not targets:
        return MOUNT_HIDES_CONTENT.skipped("the profile mounts no volume (home_volume, mount_path)")
    try:
        container = ctx.sandbox.created(ctx.image.id)
    except docker.errors.APIError as exc:
        return MOUNT_HIDES_CONTENT.skipped(
            f"the image's files could not be read: {exc.__class__.__name__}"
        )
    try:
        hidden: dict[str, tuple[list[Entry], bool]] = {}
        skeleton: Listing | None = None
        for target in targets:
            listing = list_path(container, target)
            if listing is None:
                hidden[target] = ([], True)
                continue
            if skeleton is None and any(e.path.startswith(".") for e in listing.entries):
                skeleton = list_path(container, _SKELETON)
            hidden[target] = (hidden_entries(listing, skeleton), listing.complete)
    except docker.errors.APIError as exc:
        return MOUNT_HIDES_CONTENT.skipped(
            f"the image's files could not be read: {exc.__class__.__name__}"
        )
    finally:
        with contextlib.suppress(docker.errors.APIError):
            ctx.sandbox.remove_container(container)
    return judge_hidden(ctx.profile, hidden)


MOUNT_HIDES_CONTENT = Check(
    id="mount-hides-content",
    title="The user-data mount does not hide the image's files",
    stage=Stage.EXEC,
    detection=(
        "Lists what the image has at home_volume and mount_path from a container that is "
        "created but never started (the engine's archive API, read up to 200 entries or "
        "8 MiB); the shell files useradd copies from /etc/skel are not counted. A warning "
        "only: the server works, users just do not see those files."
    ),
    cause=(
        "The platform mounts the user's storage over that path: a bind mount or a PVC hides "
        "whatever the image has there; a Docker named volume gets a copy on its first use "
        "only, so later image updates of those files never reach the user."
    ),
    fix=(
        "Ship the files outside the mount path (e.g. /opt/<project>) and copy them into the "
        "user's directory at start if users need them there."
    ),
    evidence=("kubeflow PR#786", "kubeflow#5172", "moby#30647"),
    probe=probe_mount_hides_content,
)
