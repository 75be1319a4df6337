"""The user-data volumes a profile mounts, made the way its platform makes them.

Every volume is created through the sandbox, on the engine's side: the same code works
against a remote DOCKER_HOST, where no host directory of ours exists. An "existing
directory" (bind) is a tmpfs volume whose root already has the platform's owner and mode,
mounted without copy-up, which is what a hostPath on NFS looks like from inside the pod.
"""

from __future__ import annotations

from dataclasses import dataclass

import docker.types

from validator.profiles import Profile, VolumeKind
from validator.runtime.sandbox import Sandbox

__all__ = ["VolumeSpec", "mount_targets", "volume_mounts", "volume_spec"]

# A user-data volume holds probe files only; the cap keeps a runaway writer off the RAM.
_TMPFS_SIZE = "256m"


@dataclass(frozen=True)
class VolumeSpec:
    """How one kind of volume is created and what its root looks like when empty."""

    kind: VolumeKind
    driver_opts: dict[str, str]
    copy_up: bool  # Docker copies the image's content at the mount path into it
    owner: str | None  # uid:gid of the root, when the platform decides it
    mode: str | None  # octal mode of the root, when the platform decides it

    def describe(self) -> str:
        """'bind, owner 1000:100, mode 0755': the kind and the root as the platform makes it."""
        if self.copy_up:
            return f"{self.kind}, owner and mode copied from the image's directory"
        parts: list[str] = [self.kind]
        if self.owner is not None:
            parts.append(f"owner {self.owner}")
        if self.mode is not None:
            parts.append(f"mode {self.mode}")
        return ", ".join(parts)


def _tmpfs(mode: str, owner: tuple[int, int] | None = None) -> dict[str, str]:
    ids = f"uid={owner[0]},gid={owner[1]}," if owner is not None else ""
    return {"type": "tmpfs", "device": "tmpfs", "o": f"{ids}mode={mode},size={_TMPFS_SIZE}"}


def volume_spec(profile: Profile) -> VolumeSpec:
    """The volume ``profile.volume_kind`` names, owned as that platform owns it."""
    if profile.volume_kind == "bind":
        ids = profile.volume_owner_ids
        if ids is None:  # the profile model requires an owner for bind
            raise ValueError("a bind volume needs volume_owner")
        uid, gid = ids
        # An existing directory: Kubernetes neither copies into a hostPath nor chowns it
        # to fsGroup, so its owner and mode are whatever the storage gave it.
        return VolumeSpec("bind", _tmpfs("0755", (uid, gid)), False, f"{uid}:{gid}", "0755")
    if profile.volume_kind == "docker-volume":
        # DockerSpawner's default: a plain local named volume, filled from the image.
        return VolumeSpec("docker-volume", {}, True, None, None)
    if profile.fs_gid is not None:
        # Kubernetes gives a PVC's root to fsGroup, setgid and group-writable.
        return VolumeSpec(
            "pvc", _tmpfs("2775", (0, profile.fs_gid)), False, f"0:{profile.fs_gid}", "2775"
        )
    # Without fsGroup the platform's choice is unknown: writable for every uid, like
    # /tmp, so that only the image decides the outcome.
    return VolumeSpec("pvc", _tmpfs("1777"), False, None, "1777")


def mount_targets(profile: Profile) -> list[str]:
    """Where the profile mounts volumes: home_volume, then mount_path (each once)."""
    return list(dict.fromkeys(p for p in (profile.home_volume, profile.mount_path) if p))


def volume_mounts(sandbox: Sandbox, profile: Profile) -> list[docker.types.Mount]:
    """One fresh sandbox volume per target, ready for ``mounts=`` of a container."""
    spec = volume_spec(profile)
    mounts = []
    for target in mount_targets(profile):
        volume = sandbox.volume(driver_opts=spec.driver_opts)
        mounts.append(
            docker.types.Mount(target, volume.name, type="volume", no_copy=not spec.copy_up)
        )
    return mounts
