"""Each volume kind is made as its platform makes it: owner, mode, copy-up."""

from __future__ import annotations

from typing import Any

import pytest

from validator.profiles import Profile, load_profile
from validator.runtime.volumes import mount_targets, volume_mounts, volume_spec


def _kind(base: str, **fields: Any) -> Profile:
    return load_profile(base).with_overrides(**fields)


def test_bind_is_an_existing_empty_directory_with_its_owner_and_mode_0755() -> None:
    spec = volume_spec(load_profile("jupyter4nfdi"))
    assert spec.kind == "bind" and not spec.copy_up
    assert spec.driver_opts["type"] == "tmpfs"
    assert spec.driver_opts["o"].startswith("uid=1000,gid=100,mode=0755,")
    assert spec.describe() == "bind, owner 1000:100, mode 0755"


def test_bind_owner_comes_from_volume_owner() -> None:
    spec = volume_spec(_kind("jupyter4nfdi", volume_owner="1001:1001"))
    assert "uid=1001,gid=1001,mode=0755" in spec.driver_opts["o"]


def test_pvc_belongs_to_fs_group_setgid_and_group_writable() -> None:
    spec = volume_spec(load_profile("z2jh"))
    assert spec.kind == "pvc" and not spec.copy_up
    assert spec.driver_opts["o"].startswith("uid=0,gid=100,mode=2775,")
    assert spec.describe() == "pvc, owner 0:100, mode 2775"


def test_pvc_without_fs_group_is_writable_for_every_uid() -> None:
    spec = volume_spec(_kind("dockerspawner", volume_kind="pvc"))
    assert spec.driver_opts["o"].startswith("mode=1777,")
    assert spec.describe() == "pvc, mode 1777"


def test_docker_volume_is_a_plain_named_volume_filled_from_the_image() -> None:
    spec = volume_spec(_kind("dockerspawner", volume_kind="docker-volume"))
    assert spec.copy_up and spec.driver_opts == {}
    assert "copied from the image" in spec.describe()


def test_targets_are_home_then_mount_path_each_once() -> None:
    assert mount_targets(load_profile("dockerspawner")) == []
    assert mount_targets(_kind("z2jh", mount_path="/mnt/data")) == ["/home/jovyan", "/mnt/data"]
    assert mount_targets(_kind("z2jh", mount_path="/home/jovyan")) == ["/home/jovyan"]


class _Volumes:
    """Stands in for Sandbox.volume (the Docker side is tests/integration/test_volumes.py)."""

    def __init__(self) -> None:
        self.asked: list[dict[str, str] | None] = []

    def volume(self, *, driver_opts: dict[str, str] | None = None) -> Any:
        self.asked.append(driver_opts)

        class _Made:
            name = f"vol-{len(self.asked)}"

        return _Made()


@pytest.mark.parametrize(
    ("kind", "no_copy"), [("bind", True), ("pvc", True), ("docker-volume", False)]
)
def test_mounts_copy_up_only_for_docker_volumes(kind: str, no_copy: bool) -> None:
    sandbox = _Volumes()
    profile = _kind("jupyter4nfdi", volume_kind=kind, home_volume="/home/jovyan")
    mounts = volume_mounts(sandbox, profile)  # type: ignore[arg-type]
    assert [m["Target"] for m in mounts] == ["/home/jovyan", "/home/jovyan/work"]
    assert [m["Source"] for m in mounts] == ["vol-1", "vol-2"]
    assert all(bool(m.get("VolumeOptions", {}).get("NoCopy")) is no_copy for m in mounts)
    assert len(sandbox.asked) == 2
